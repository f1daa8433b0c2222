using System.Text;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The link-format test descriptions of the ETSI/F-Interop CoAP plugtest (TD_COAP_LINK_01 to _09, RFC 6690 and RFC 7252 §7.2)
/// against <c>coapenroll serve --Coap:PlugtestResources=true</c>, each run by libcoap's <c>coap-client-notls</c> and by raw
/// datagrams. The verdict checks: 2.05 with Content-Format 40, a document that parses as link format, the attributes of the
/// plugtest resources (rt, if, ct, sz, obs), and that a filter (<c>?rt=</c>, <c>?if=</c>, <c>?sz=</c>, <c>?href=</c>, <c>?ct=</c>,
/// complete or with a trailing <c>*</c>, RFC 6690 §4.1) returns exactly the links that match it.
/// </summary>
public sealed class LinkTdTests : IClassFixture<BolServerFixture>
{
    public const string LibCoapClient = "libcoap";

    public const string RawClient = "raw";

    private readonly BolServerFixture _fixture;

    public LinkTdTests(BolServerFixture fixture) => _fixture = fixture;

    public static TheoryData<string> Clients() => new() { LibCoapClient, RawClient };

    [Theory]
    [Trait("Needs", "link-format")]
    [MemberData(nameof(Clients))]
    public async Task TD_COAP_LINK_01_WellKnownCoreDiscovery(string client)
    {
        var links = await DiscoverAsync(client, "");

        AssertLink(links, "/link1", l => l.ResourceTypes.SequenceEqual(["Type1", "Type2"]) && l.Interfaces.SequenceEqual(["If1"]) && l.ContentFormats.SequenceEqual([0]));
        AssertLink(links, "/link2", l => l.ResourceTypes.SequenceEqual(["Type2", "Type3"]) && l.Interfaces.SequenceEqual(["If2"]));
        AssertLink(links, "/link3", l => l.ResourceTypes.SequenceEqual(["Type1", "Type3"]) && l.Interfaces.SequenceEqual(["foo"]));
        AssertLink(links, "/large", l => l.MaximumSize == 4096 && l.ContentFormats.SequenceEqual([0]));
        AssertLink(links, "/obs", l => l.Observable && l.ContentFormats.SequenceEqual([0]));
        AssertLink(links, "/obs-non", l => l.Observable);
        AssertLink(links, "/obs-large", l => l.Observable && l.MaximumSize is > 1024);
        AssertLink(links, "/path", l => l.ContentFormats.SequenceEqual([CoapContentFormat.LinkFormat]));
        AssertLink(links, "/large-update", _ => true);
        AssertLink(links, "/large-create", _ => true);
        AssertLink(links, "/large-post", _ => true);
        Assert.DoesNotContain(links, l => l.Path == "/.well-known/core");
    }

    [Theory]
    [Trait("Needs", "link-format")]
    [MemberData(nameof(Clients))]
    public async Task TD_COAP_LINK_02_FilterByResourceType(string client)
        => AssertPaths(await DiscoverAsync(client, "rt=Type1"), "/link1", "/link3");

    [Theory]
    [Trait("Needs", "link-format")]
    [MemberData(nameof(Clients))]
    public async Task TD_COAP_LINK_03_EmptyPrefixMatchesEveryResourceType(string client)
    {
        // rt=* : the empty prefix matches every link that has an rt attribute, and only those.
        var all = await DiscoverAsync(client, "");
        var filtered = await DiscoverAsync(client, "rt=*");

        AssertPaths(filtered, [.. all.Where(l => l.ResourceTypes.Count > 0).Select(l => l.Path)]);
        Assert.Contains(filtered, l => l.Path == "/link1");
        Assert.DoesNotContain(filtered, l => l.Path == "/large");
    }

    [Theory]
    [Trait("Needs", "link-format")]
    [MemberData(nameof(Clients))]
    public async Task TD_COAP_LINK_04_FilterAmongSeveralResourceTypes(string client)
        => AssertPaths(await DiscoverAsync(client, "rt=Type2"), "/link1", "/link2");

    [Theory]
    [Trait("Needs", "link-format")]
    [MemberData(nameof(Clients))]
    public async Task TD_COAP_LINK_05_FilterByInterfacePrefix(string client)
        => AssertPaths(await DiscoverAsync(client, "if=If*"), "/link1", "/link2");

    [Theory]
    [Trait("Needs", "link-format")]
    [MemberData(nameof(Clients))]
    public async Task TD_COAP_LINK_06_FilterBySizePrefix(string client)
    {
        var all = await DiscoverAsync(client, "");
        var filtered = await DiscoverAsync(client, "sz=*");

        AssertPaths(filtered, [.. all.Where(l => l.MaximumSize is not null).Select(l => l.Path)]);
        Assert.Contains(filtered, l => l.Path == "/large" && l.MaximumSize == 4096);
    }

    [Theory]
    [Trait("Needs", "link-format")]
    [MemberData(nameof(Clients))]
    public async Task TD_COAP_LINK_07_FilterByCompleteHref(string client)
        => AssertPaths(await DiscoverAsync(client, "href=/link1"), "/link1");

    [Theory]
    [Trait("Needs", "link-format")]
    [MemberData(nameof(Clients))]
    public async Task TD_COAP_LINK_08_FilterByHrefPrefix(string client)
        => AssertPaths(await DiscoverAsync(client, "href=/link*"), "/link1", "/link2", "/link3");

    [Theory]
    [Trait("Needs", "link-format")]
    [MemberData(nameof(Clients))]
    public async Task TD_COAP_LINK_09_HierarchicalDiscovery(string client)
    {
        // Step 1: resources that are link-format documents themselves.
        var documents = await DiscoverAsync(client, "ct=40");
        Assert.Contains(documents, l => l.Path == "/path");
        Assert.All(documents, l => Assert.Contains(CoapContentFormat.LinkFormat, l.ContentFormats));

        // Steps 2-3: /path lists its sub-resources, which /.well-known/core leaves to it.
        var children = await GetLinksAsync(client, "/path");
        AssertPaths(children, "/path/sub1", "/path/sub2", "/path/sub3");
        Assert.DoesNotContain(await DiscoverAsync(client, ""), l => l.Path.StartsWith("/path/", StringComparison.Ordinal));

        // Steps 4-5: a sub-resource is there.
        var (code, _, body) = await GetAsync(client, children[0].Path);
        Assert.True(code == "2.05" && body.Length > 0, $"GET {children[0].Path}: {code}");
    }

    private Task<IReadOnlyList<CoapResourceDescription>> DiscoverAsync(string client, string query)
        => GetLinksAsync(client, "/.well-known/core" + (query.Length > 0 ? "?" + query : ""));

    /// <summary>GETs a link-format document; asserts 2.05 with Content-Format 40 and returns its links.</summary>
    private async Task<IReadOnlyList<CoapResourceDescription>> GetLinksAsync(string client, string pathAndQuery)
    {
        var (code, contentFormat, body) = await GetAsync(client, pathAndQuery);
        string text = Encoding.UTF8.GetString(body);
        Assert.True(code == "2.05" && contentFormat == CoapContentFormat.LinkFormat, $"GET {pathAndQuery} ({client}): {code}, Content-Format {contentFormat}: {text}");
        Assert.True(CoapLinkFormat.TryParse(text, out var links, out string? error), $"GET {pathAndQuery} ({client}) is not link format: {error}{Environment.NewLine}{text}");
        return links;
    }

    /// <summary>The response code, Content-Format and whole body (all Block2 blocks) of a GET.</summary>
    private async Task<(string Code, int? ContentFormat, byte[] Body)> GetAsync(string client, string pathAndQuery)
    {
        if (client == RawClient)
        {
            await using var raw = _fixture.CreateRawClient();
            var request = CoapMessage.CreateRequest(CoapCode.Get, pathAndQuery.Split('?')[0]);
            if (pathAndQuery.Split('?') is [_, var query])
            {
                request = request.WithUriQuery(query);
            }

            var (responses, body) = await raw.FetchAsync(request);
            return (responses[0].Code.ToString(), responses[0].ContentFormat, body);
        }

        string output = Path.Combine(_fixture.WorkingDirectory, $"link-{Guid.NewGuid():N}.out");
        var (result, messages) = await BolLibCoap.RunAsync(30, "-m", "get", "-o", output, _fixture.Uri(pathAndQuery));
        Assert.True(result.ExitCode == 0, result.Describe());
        var logged = BolLibCoap.ServerResponses(messages);
        var first = logged.Count > 0 ? logged[0] : throw new Xunit.Sdk.XunitException($"No response logged.{Environment.NewLine}{result.Describe()}");
        int? contentFormat = first.Option("Content-Format") switch
        {
            null => null,
            "application/link-format" => CoapContentFormat.LinkFormat,
            "text/plain" => CoapContentFormat.TextPlain,
            var other => int.TryParse(other, out int n) ? n : -1,
        };
        return (first.Code, contentFormat, File.Exists(output) ? await File.ReadAllBytesAsync(output) : []);
    }

    private static void AssertLink(IReadOnlyList<CoapResourceDescription> links, string path, Func<CoapResourceDescription, bool> check)
    {
        var link = links.FirstOrDefault(l => l.Path == path);
        Assert.True(link is not null && check(link), $"{path}: {link?.ToString() ?? "missing"}{Environment.NewLine}{CoapLinkFormat.Serialize(links)}");
    }

    private static void AssertPaths(IReadOnlyList<CoapResourceDescription> links, params string[] expected)
        => Assert.True(links.Select(l => l.Path).Order(StringComparer.Ordinal).SequenceEqual(expected.Order(StringComparer.Ordinal)),
            $"Expected exactly {string.Join(", ", expected)}; got {CoapLinkFormat.Serialize(links)}");
}
