using System.Net;
using System.Text;
using CoapEnroll.Coap.Tests.BlockWise;

namespace CoapEnroll.Coap.Tests.Endpoints;

/// <summary>
/// The router compares literal segments as UTF-8 bytes and decodes only route values; the result must be the
/// one a comparison of the decoded segments gives, including for non-ASCII, empty and invalid UTF-8 segments.
/// </summary>
public class RouterMatchTests
{
    private static readonly EndPoint s_peer = new IPEndPoint(IPAddress.Loopback, 40000);

    private static async Task<(CoapCode Code, string Payload)> RouteAsync(string[] patterns, params byte[][] segments)
    {
        var router = new CoapRouter();
        foreach (string pattern in patterns)
        {
            router.GetOrAdd(pattern).SetHandler(CoapCode.Get, (context, _) => ValueTask.FromResult(
                new CoapMessage { Code = CoapCode.Content }.WithPayload(
                    pattern + "|" + string.Join(",", context.RouteValues.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => v.Key + "=" + v.Value)))));
        }

        var request = new CoapMessage
        {
            Code = CoapCode.Get,
            Options = CoapOptionCollection.Create(segments.Select(s => new CoapOption(CoapOptionNumber.UriPath, s))),
        };
        await using var endpoint = new CoapEndpoint(new NullDatagramChannel());
        var response = await router.HandleAsync(new CoapRequestContext(request, s_peer, endpoint), default);
        return (response.Code, response.PayloadText);
    }

    private static byte[] U(string segment) => Encoding.UTF8.GetBytes(segment);

    [Fact]
    public async Task Literal_MatchesItsExactBytesOnly()
    {
        Assert.Equal((CoapCode.Content, "/a/b|"), await RouteAsync(["/a/b"], U("a"), U("b")));
        Assert.Equal(CoapCode.NotFound, (await RouteAsync(["/a/b"], U("a"), U("B"))).Code);
        Assert.Equal(CoapCode.NotFound, (await RouteAsync(["/a/b"], U("a"))).Code);
        Assert.Equal(CoapCode.NotFound, (await RouteAsync(["/a/b"], U("a"), U("b"), U("c"))).Code);
        Assert.Equal(CoapCode.NotFound, (await RouteAsync(["/a/b"], U("a"), U("bb"))).Code);
    }

    [Fact]
    public async Task Literal_NonAsciiAndRoot()
    {
        Assert.Equal((CoapCode.Content, "/grüße/東京|"), await RouteAsync(["/grüße/東京"], U("grüße"), U("東京")));
        Assert.Equal(CoapCode.NotFound, (await RouteAsync(["/grüße"], U("grusse"))).Code);
        Assert.Equal((CoapCode.Content, "/|"), await RouteAsync(["/"]));
    }

    [Fact]
    public async Task EmptySegment_MatchesNoLiteralAndNoRouteValue()
    {
        Assert.Equal(CoapCode.NotFound, (await RouteAsync(["/a/b"], U("a"), [], U("b"))).Code);
        Assert.Equal(CoapCode.NotFound, (await RouteAsync(["/a/{x}"], U("a"), [])).Code);
    }

    [Fact]
    public async Task RouteValues_AreDecodedAndLiteralsWin()
    {
        string[] patterns = ["/est/{label}/sen", "/est/crts/sen"];
        Assert.Equal((CoapCode.Content, "/est/{label}/sen|label=ärger"), await RouteAsync(patterns, U("est"), U("ärger"), U("sen")));
        Assert.Equal((CoapCode.Content, "/est/crts/sen|"), await RouteAsync(patterns, U("est"), U("crts"), U("sen")));
    }

    [Fact]
    public async Task InvalidUtf8_MatchesAsItsDecodedString()
    {
        // 0xFF decodes to U+FFFD: it matches a pattern spelt with U+FFFD, as a string comparison has always made it.
        Assert.Equal((CoapCode.Content, "/a\uFFFD|"), await RouteAsync(["/a\uFFFD"], [(byte)'a', 0xFF]));
        Assert.Equal((CoapCode.Content, "/a\uFFFD|"), await RouteAsync(["/a\uFFFD"], U("a\uFFFD")));
        Assert.Equal(CoapCode.NotFound, (await RouteAsync(["/a"], [(byte)'a', 0xFF])).Code);

        // A route value from invalid UTF-8 is its decoding.
        Assert.Equal((CoapCode.Content, "/x/{v}|v=\uFFFD"), await RouteAsync(["/x/{v}"], U("x"), [0xC3]));
    }

    [Fact]
    public async Task LoneSurrogateInPattern_MatchesNothing()
    {
        // "\uD800" encodes to U+FFFD's bytes, but no request segment decodes to a lone surrogate.
        Assert.Equal(CoapCode.NotFound, (await RouteAsync(["/\uD800"], U("\uFFFD"))).Code);
    }

    [Fact]
    public async Task WrongMethod_IsMethodNotAllowed()
    {
        var router = new CoapRouter();
        router.GetOrAdd("/a").SetHandler(CoapCode.Post, (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Changed }));
        await using var endpoint = new CoapEndpoint(new NullDatagramChannel());
        var response = await router.HandleAsync(new CoapRequestContext(CoapMessage.CreateRequest(CoapCode.Get, "/a"), s_peer, endpoint), default);
        Assert.Equal(CoapCode.MethodNotAllowed, response.Code);
    }
}
