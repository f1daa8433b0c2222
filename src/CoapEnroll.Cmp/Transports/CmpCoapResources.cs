using CoapEnroll.Coap;

namespace CoapEnroll.Cmp;

/// <summary>
/// CMP over CoAP (RFC 9482): POST of a DER PKIMessage to <c>/.well-known/cmp</c>, <c>/.well-known/cmp/p/&lt;label&gt;</c> and the
/// operation labels after either; the answer is a 2.04 with the DER PKIMessage (Content-Format 259), CMP-level errors included.
/// Transport-level problems are CoAP codes: 4.15 for a Content-Format that is not 259 (42 and none are tolerated, §2.3), 4.04 for
/// an unknown profile label, 4.13 beyond the size limit (block-wise reassembly enforces it), 4.00 for bytes that are no PKIMessage.
/// </summary>
public static class CmpCoapResources
{
    private const double MinMaxAge = 60;

    /// <summary>The CoAP operation labels of RFC 9482 §2.1 (RFC 9483 §6 short names).</summary>
    public static IReadOnlyList<string> OperationLabels { get; } = ["ir", "cr", "kur", "p10", "rr", "crts", "rcu", "att", "crls"];

    /// <summary>
    /// Maps the CMP resources on <paramref name="server"/>. <paramref name="frontEnd"/> names the channel in the store
    /// (<c>cmp-coap</c> or <c>cmp-coaps</c>); over DTLS the requester is still authenticated by the message's own protection.
    /// </summary>
    public static void MapCmp(this CoapServer server, CmpServer cmp, string frontEnd) => MapCmp(server, cmp, frontEnd, null);

    /// <summary>
    /// Maps the CMP resources as <see cref="MapCmp(CoapServer, CmpServer, string)"/> does and, with <paramref name="announcements"/>,
    /// makes <c>/.well-known/cmp</c> observable (RFC 9482 §2.5, RFC 7641): a GET answers 2.05 with the latest announcement
    /// PKIMessage (Content-Format 259), and every new announcement goes to the observers as a notification.
    /// </summary>
    /// <remarks>
    /// The first GET is answered with a CRL announcement of the CA's current CRL rather than 4.04 or an empty 2.05: RFC 7641 §4.1
    /// registers an observer only on a 2.xx answer, and a notification carries the resource's current representation, so the
    /// registration response is a complete, verifiable PKIMessage like every later notification. Max-Age is the time left until
    /// the CRL's nextUpdate (at least 60 s). An observer that cannot keep up gets only the newest announcement (RFC 7641 §4.5.2).
    /// </remarks>
    public static void MapCmp(this CoapServer server, CmpServer cmp, string frontEnd, CmpAnnouncer? announcements)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(cmp);
        ArgumentException.ThrowIfNullOrEmpty(frontEnd);
        const string Root = "/.well-known/cmp";
        CoapResource root = Map(server, cmp, frontEnd, Root, null).WithResourceType("ace.cmp").WithContentFormat(CoapContentFormat.PkixCmp);
        if (announcements is not null)
        {
            server.MapGet(Root, (context, cancellationToken) => GetAnnouncementAsync(context, announcements, cancellationToken)).Observable().RunOnThreadPool();
            announcements.Announced += (_, _) => root.NotifyObservers();
        }

        Map(server, cmp, frontEnd, Root + "/p/{label}", null).Hidden();
        foreach (string operation in OperationLabels)
        {
            Map(server, cmp, frontEnd, $"{Root}/{operation}", operation).Hidden();
            Map(server, cmp, frontEnd, $"{Root}/p/{{label}}/{operation}", operation).Hidden();
        }
    }

    /// <summary>
    /// Maps the same CMP resources as <see cref="MapCmp(CoapServer, CmpServer, string)"/> (and the same <c>rt=ace.cmp</c> entry in
    /// <c>/.well-known/core</c>), each forwarding to the upstream HTTP CMP server through <paramref name="proxy"/> instead of a local
    /// <see cref="CmpServer"/> (RFC 9482 §4). Any profile label is forwarded: the upstream decides which it knows (404 → 4.04).
    /// Announcements are not observable through the proxy: an HTTP CMP server has no way to push them (RFC 9482 §4).
    /// </summary>
    public static void MapCmpProxy(this CoapServer server, CmpCoapProxy proxy)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(proxy);
        const string Root = "/.well-known/cmp";
        MapProxy(server, proxy, Root, null).WithResourceType("ace.cmp").WithContentFormat(CoapContentFormat.PkixCmp);
        MapProxy(server, proxy, Root + "/p/{label}", null).Hidden();
        foreach (string operation in OperationLabels)
        {
            MapProxy(server, proxy, $"{Root}/{operation}", operation).Hidden();
            MapProxy(server, proxy, $"{Root}/p/{{label}}/{operation}", operation).Hidden();
        }
    }

    // Both start on the thread pool (CoapResource.RunOnThreadPool): CMP verifies signatures or MACs, reads and writes the store
    // (synchronous under its async API) and signs before its first real wait, which on a receive thread serving every peer of the
    // socket would stall the others. The proxy mostly waits for its upstream, and one hop is nothing next to an HTTP exchange.
    private static CoapResource MapProxy(CoapServer server, CmpCoapProxy proxy, string pattern, string? operation) =>
        server.MapPost(pattern, (context, cancellationToken) =>
            proxy.ForwardAsync(context, context.RouteValues.TryGetValue("label", out string? label) ? label : null, operation, cancellationToken))
            .RunOnThreadPool();

    private static CoapResource Map(CoapServer server, CmpServer cmp, string frontEnd, string pattern, string? operation) =>
        server.MapPost(pattern, (context, cancellationToken) => HandleAsync(context, cmp, frontEnd, operation, cancellationToken)).RunOnThreadPool();

    private static async ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, CmpServer cmp, string frontEnd, string? operation, CancellationToken cancellationToken)
    {
        CoapMessage request = context.Request;
        if (request.ContentFormat is { } format && format is not (CoapContentFormat.PkixCmp or CoapContentFormat.OctetStream))
        {
            return Diagnostic(CoapCode.UnsupportedContentFormat, $"CMP needs Content-Format 259 (application/pkixcmp), got {format}");
        }

        if (request.Accept is { } accept && accept is not (CoapContentFormat.PkixCmp or CoapContentFormat.OctetStream))
        {
            return Diagnostic(CoapCode.NotAcceptable, "CMP answers with Content-Format 259 (application/pkixcmp)");
        }

        string? label = context.RouteValues.TryGetValue("label", out string? l) ? l : null;
        if (label is not null && !cmp.IsKnownProfile(label))
        {
            return Diagnostic(CoapCode.NotFound, $"no CMP profile label '{label}'");
        }

        if (request.Payload.Length == 0)
        {
            return Diagnostic(CoapCode.BadRequest, "empty request: POST a DER PKIMessage");
        }

        CmpExchangeResult result = await cmp.HandleAsync(request.Payload, new CmpRequestContext
        {
            FrontEnd = context.SecureSession is null ? frontEnd : frontEnd + "s",
            ProfileLabel = label,
            OperationLabel = operation,
            Peer = context.RemoteEndPoint.ToString(),
        }, cancellationToken);
        if (result.Response is not { } answer)
        {
            return Diagnostic(CoapCode.BadRequest, result.Detail ?? "not a PKIMessage");
        }

        return new CoapMessage { Code = CoapCode.Changed }.WithContentFormat(CoapContentFormat.PkixCmp).WithPayload(answer);
    }

    private static async ValueTask<CoapMessage> GetAnnouncementAsync(CoapRequestContext context, CmpAnnouncer announcements, CancellationToken cancellationToken)
    {
        if (context.Request.Accept is { } accept && accept is not (CoapContentFormat.PkixCmp or CoapContentFormat.OctetStream))
        {
            return Diagnostic(CoapCode.NotAcceptable, "CMP announcements are Content-Format 259 (application/pkixcmp)");
        }

        CmpAnnouncement latest = await announcements.GetLatestAsync(cancellationToken);
        var response = new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.PkixCmp).WithPayload(latest.Der);
        if (latest.NextUpdate is { } nextUpdate)
        {
            double seconds = Math.Clamp((nextUpdate - DateTimeOffset.UtcNow).TotalSeconds, MinMaxAge, uint.MaxValue);
            response = response.SetUInt(CoapOptionNumber.MaxAge, (uint)seconds);
        }

        return response;
    }

    private static CoapMessage Diagnostic(CoapCode code, string text) => new CoapMessage { Code = code }.WithPayload(text);
}
