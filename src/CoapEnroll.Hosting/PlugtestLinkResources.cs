using System.Text;
using CoapEnroll.Coap;

namespace CoapEnroll.Hosting;

/// <summary>
/// The resources the ETSI/F-Interop CoAP plugtest's link-format tests (TD_COAP_LINK_*) discover, mapped by <c>serve</c> only with
/// <c>Coap:PlugtestResources=true</c>. All are read-only.
/// <list type="bullet">
/// <item><c>/link1</c>, <c>/link2</c>, <c>/link3</c>: text resources whose <c>rt</c> and <c>if</c> attributes overlap
/// (<c>rt="Type1 Type2";if="If1"</c>, <c>rt="Type2 Type3";if="If2"</c>, <c>rt="Type1 Type3";if="foo"</c>), for filtering by
/// <c>?rt=</c>, <c>?if=</c> and <c>?href=</c> (RFC 6690 §4.1).</item>
/// <item><c>/path</c> (<c>ct=40</c>): a link-format document listing its sub-resources <c>/path/sub1</c>, <c>/path/sub2</c> and
/// <c>/path/sub3</c>, which <c>/.well-known/core</c> leaves out: discovery is hierarchical (RFC 6690 §4).</item>
/// </list>
/// </summary>
public static class PlugtestLinkResources
{
    private static readonly (string Path, string[] ResourceTypes, string Interface)[] s_links =
    [
        ("/link1", ["Type1", "Type2"], "If1"),
        ("/link2", ["Type2", "Type3"], "If2"),
        ("/link3", ["Type1", "Type3"], "foo"),
    ];

    private static readonly string[] s_subPaths = ["/path/sub1", "/path/sub2", "/path/sub3"];

    public static void Map(CoapServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        foreach (var (path, resourceTypes, @interface) in s_links)
        {
            server.MapGet(path, (_, _) => ValueTask.FromResult(Text($"plugtest resource {path}")))
                .WithResourceType(resourceTypes)
                .WithInterface(@interface)
                .WithContentFormat(CoapContentFormat.TextPlain);
        }

        var children = new List<CoapResource>();
        foreach (string path in s_subPaths)
        {
            children.Add(server.MapGet(path, (_, _) => ValueTask.FromResult(Text($"plugtest resource {path}")))
                .WithContentFormat(CoapContentFormat.TextPlain)
                .Hidden());
        }

        // The document lists the children as /.well-known/core would (RFC 6690 §2), filtered by the request's query alike.
        server.MapGet("/path", (context, _) => ValueTask.FromResult(Listing(children, context.Request)))
            .WithTitle("Plugtest: a link-format document of its sub-resources")
            .WithContentFormat(CoapContentFormat.LinkFormat);
    }

    private static CoapMessage Listing(IReadOnlyList<CoapResource> children, CoapMessage request)
    {
        if (request.Accept is { } accept && accept != CoapContentFormat.LinkFormat)
        {
            return new CoapMessage { Code = CoapCode.NotAcceptable };
        }

        var links = CoapLinkFormat.Filter(children.Select(c => new CoapResourceDescription(c.Pattern) { ContentFormats = [.. c.ContentFormats] }), request.UriQuery);
        return new CoapMessage { Code = CoapCode.Content }
            .WithContentFormat(CoapContentFormat.LinkFormat)
            .WithPayload(CoapLinkFormat.Serialize(links));
    }

    private static CoapMessage Text(string text)
        => new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.TextPlain).WithPayload(Encoding.UTF8.GetBytes(text));
}
