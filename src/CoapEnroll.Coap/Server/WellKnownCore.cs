namespace CoapEnroll.Coap;

/// <summary>
/// <c>GET /.well-known/core</c> (RFC 7252 §7.2, RFC 6690): the server's literal, discoverable
/// resources as a link-format document, filtered by the query (RFC 6690 §4.1). Large listings are
/// cut into blocks by the block-wise layer like any other response.
/// </summary>
internal static class WellKnownCore
{
    public const string Path = "/.well-known/core";

    public static ValueTask<CoapMessage> HandleAsync(CoapServer server, CoapRequestContext context)
    {
        if (context.Request.Accept is { } accept && accept != CoapContentFormat.LinkFormat)
        {
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.NotAcceptable });
        }

        var descriptions = server.Resources
            .Where(r => r.IsLiteral && r.IsDiscoverable && r.Pattern != Path)
            .Select(Describe);
        var matching = CoapLinkFormat.Filter(descriptions, context.Request.UriQuery);

        // An empty result is an empty link-format document, not an error.
        return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }
            .WithContentFormat(CoapContentFormat.LinkFormat)
            .WithPayload(CoapLinkFormat.Serialize(matching)));
    }

    internal static CoapResourceDescription Describe(CoapResource resource) => new(resource.Pattern)
    {
        ResourceTypes = [.. resource.ResourceTypes],
        Interfaces = [.. resource.InterfaceDescriptions],
        ContentFormats = [.. resource.ContentFormats],
        MaximumSize = resource.MaximumSize,
        Observable = resource.IsObservable,
        Title = resource.Title,
    };
}
