using System.Formats.Asn1;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using CoapEnroll.Coap;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cmp;

/// <summary>
/// The CoAP-to-HTTP CMP proxy of RFC 9482 §4 (a reverse proxy in the sense of RFC 7252 §10): every PKIMessage POSTed to the CoAP
/// CMP resources is, once block-wise reassembly has delivered all of it, forwarded unchanged as an HTTP POST with
/// <c>application/pkixcmp</c> (RFC 9811, RFC 6712) to the upstream CMP server, and the upstream's PKIMessage is the 2.04 answer
/// (Content-Format 259), sent block-wise when large. Transport-level failures become CoAP codes: see <see cref="MapStatus"/>
/// for the upstream's HTTP status, 5.03 (with Max-Age) when the upstream cannot be reached, 5.04 when it does not answer within
/// <see cref="CmpCoapProxyOptions.Timeout"/>, 5.02 for an answer that is not a PKIMessage. Requests in flight upstream are
/// bounded per CoAP peer (4.29 past it) and in total (5.03 past it) by a <see cref="PeerConcurrencyLimiter"/>.
/// </summary>
/// <remarks>
/// The proxy judges only the transport: CMP messages protect themselves end to end, and the upstream CA or RA checks them. It
/// refuses locally what no upstream could accept (a Content-Format other than 259, 42 or none; an empty body; bytes that are
/// not one ASN.1 SEQUENCE) so that such requests cost the upstream nothing.
/// </remarks>
public sealed partial class CmpCoapProxy
{
    private static readonly Dictionary<string, string> s_httpOperations = new(StringComparer.Ordinal)
    {
        ["ir"] = "initialization",
        ["cr"] = "certification",
        ["kur"] = "keyupdate",
        ["p10"] = "pkcs10",
        ["rr"] = "revocation",
        ["crts"] = "getcacerts",
        ["rcu"] = "getrootupdate",
        ["att"] = "getcertreqtemplate",
        ["crls"] = "getcrls",
        ["nest"] = "nested",
    };

    private readonly HttpClient _http;
    private readonly PeerConcurrencyLimiter _limiter;
    private readonly ILogger<CmpCoapProxy> _logger;
    private readonly TimeProvider _time;
    private readonly string _root;

    /// <param name="http">The pooled upstream client (not owned). Its own Timeout should not be shorter than the options'.</param>
    /// <param name="options">The upstream and the bounds.</param>
    /// <param name="limiter">The bounds on requests in flight upstream, per CoAP peer and in total (may be shared with other proxies).</param>
    /// <param name="logger">Where upstream failures are logged, one line each.</param>
    /// <param name="time">The clock for the timeout; the system's by default.</param>
    /// <exception cref="ArgumentException">The options are not usable (<see cref="CmpCoapProxyOptions.Validate"/>).</exception>
    public CmpCoapProxy(HttpClient http, CmpCoapProxyOptions options, PeerConcurrencyLimiter limiter, ILogger<CmpCoapProxy> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(limiter);
        ArgumentNullException.ThrowIfNull(logger);
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        _http = http;
        Options = options;
        _limiter = limiter;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _root = options.Upstream.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped).TrimEnd('/');
    }

    public CmpCoapProxyOptions Options { get; }

    /// <summary>
    /// The CoAP operation labels (RFC 9482 §2.1) and the HTTP ones they stand for (RFC 9483 §6.1), e.g. <c>ir</c> →
    /// <c>initialization</c>.
    /// </summary>
    public static IReadOnlyDictionary<string, string> HttpOperationLabels => s_httpOperations;

    /// <summary>
    /// The upstream URI for a CoAP CMP path. With the upstream U: <c>/.well-known/cmp</c> → U exactly as configured;
    /// <c>/.well-known/cmp/&lt;op&gt;</c> → U/&lt;http-op&gt;; <c>/.well-known/cmp/p/&lt;label&gt;</c> → U/p/&lt;label&gt;;
    /// <c>/.well-known/cmp/p/&lt;label&gt;/&lt;op&gt;</c> → U/p/&lt;label&gt;/&lt;http-op&gt;. This is the URI layout RFC 9811 §3.4
    /// gives HTTP with the operation labels RFC 9483 §6.1 gives HTTP (<see cref="HttpOperationLabels"/>); when U is the upstream's
    /// <c>/.well-known/cmp</c>, every CoAP path lands on its HTTP counterpart.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="operation"/> is not a CoAP operation label.</exception>
    public Uri MapUri(string? label, string? operation)
    {
        if (label is null && operation is null)
        {
            return Options.Upstream;
        }

        string path = _root;
        if (label is not null)
        {
            path += "/p/" + Uri.EscapeDataString(label);
        }

        if (operation is not null)
        {
            path += "/" + (s_httpOperations.TryGetValue(operation, out string? http) ? http : throw new ArgumentException($"no CMP operation label '{operation}'", nameof(operation)));
        }

        return new Uri(path);
    }

    /// <summary>
    /// The CoAP code for an upstream HTTP status that carries no PKIMessage: RFC 8075 Table 2 read from HTTP to CoAP (400 → 4.00,
    /// 401 → 4.01, 403 → 4.03, 404 → 4.04, 405 → 4.05, 406 → 4.06, 412 → 4.12, 413 → 4.13, 415 → 4.15, 429 → 4.29 (RFC 8516),
    /// other 4xx → 4.00; 501 → 5.01, 502 → 5.02, 503 → 5.03, 504 → 5.04), and 5.02 for everything else, a 500 included: a 5.00
    /// from this node would say that the proxy itself failed, and RFC 7252 §10.1 gives a proxy 5.02 for an upstream result it
    /// cannot pass on. A 2xx other than a PKIMessage, and a 3xx (redirects are not followed), are such results too.
    /// </summary>
    public static CoapCode MapStatus(HttpStatusCode status) => (int)status switch
    {
        400 => CoapCode.BadRequest,
        401 => CoapCode.Unauthorized,
        403 => CoapCode.Forbidden,
        404 => CoapCode.NotFound,
        405 => CoapCode.MethodNotAllowed,
        406 => CoapCode.NotAcceptable,
        412 => CoapCode.PreconditionFailed,
        413 => CoapCode.RequestEntityTooLarge,
        415 => CoapCode.UnsupportedContentFormat,
        429 => CoapCode.TooManyRequests,
        >= 400 and < 500 => CoapCode.BadRequest,
        501 => CoapCode.NotImplemented,
        503 => CoapCode.ServiceUnavailable,
        504 => CoapCode.GatewayTimeout,
        _ => CoapCode.BadGateway,
    };

    /// <summary>
    /// Forwards one reassembled CoAP CMP request; see the class summary for the answers. Each answer is counted
    /// (<c>cmp.proxy.requests</c>, tagged with its CoAP code), and the upstream's time measured (<c>cmp.proxy.upstream.duration</c>).
    /// </summary>
    public async ValueTask<CoapMessage> ForwardAsync(CoapRequestContext context, string? label, string? operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        long started = _time.GetTimestamp();
        (CoapMessage response, bool upstream) = await ForwardCoreAsync(context, label, operation, cancellationToken);
        var code = new KeyValuePair<string, object?>("code", $"{response.Code.Class}.{response.Code.Detail:00}");
        CmpProxyMetrics.Requests.Add(1, code);
        if (upstream)
        {
            CmpProxyMetrics.UpstreamDuration.Record(_time.GetElapsedTime(started).TotalSeconds, code);
        }

        return response;
    }

    /// <returns>The answer, and whether the upstream was asked.</returns>
    private async Task<(CoapMessage Response, bool Upstream)> ForwardCoreAsync(CoapRequestContext context, string? label, string? operation, CancellationToken cancellationToken)
    {
        CoapMessage request = context.Request;
        if (request.ContentFormat is { } format && format is not (CoapContentFormat.PkixCmp or CoapContentFormat.OctetStream))
        {
            return (Diagnostic(CoapCode.UnsupportedContentFormat, $"CMP needs Content-Format 259 (application/pkixcmp), got {format}"), false);
        }

        if (request.Accept is { } accept && accept is not (CoapContentFormat.PkixCmp or CoapContentFormat.OctetStream))
        {
            return (Diagnostic(CoapCode.NotAcceptable, "CMP answers with Content-Format 259 (application/pkixcmp)"), false);
        }

        if (request.Payload.Length == 0)
        {
            return (Diagnostic(CoapCode.BadRequest, "empty request: POST a DER PKIMessage"), false);
        }

        if (!IsOneSequence(request.Payload.Span))
        {
            return (Diagnostic(CoapCode.BadRequest, "not a PKIMessage: the body must be one DER SEQUENCE"), false);
        }

        if (label is "" or "." or "..")
        {
            // A dot segment would be resolved away in the upstream URI, sending the request to another resource.
            return (Diagnostic(CoapCode.NotFound, $"no CMP profile label '{label}'"), false);
        }

        using PeerConcurrencyLease lease = _limiter.TryAcquire(context.RemoteEndPoint);
        if (!lease.Acquired)
        {
            LogLimited(context.RemoteEndPoint, lease.Status, _limiter.Current);
            CoapMessage refusal = lease.Status == PeerConcurrencyStatus.PeerLimit
                ? Diagnostic(CoapCode.TooManyRequests, $"at most {_limiter.MaxPerPeer} CMP requests of one client are forwarded at once")
                : Diagnostic(CoapCode.ServiceUnavailable, "the CMP proxy is busy");
            return (refusal.SetUInt(CoapOptionNumber.MaxAge, Options.RetryAfterSeconds), false);
        }

        Uri target = MapUri(label, operation);
        long started = _time.GetTimestamp();
        using var timeout = new CancellationTokenSource(Options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var content = new ReadOnlyMemoryContent(request.Payload);
            content.Headers.ContentType = new MediaTypeHeaderValue(CmpHttpEndpoints.MediaType);
            using var message = new HttpRequestMessage(HttpMethod.Post, target) { Content = content };
            message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(CmpHttpEndpoints.MediaType));

            // The message is forwarded unchanged; it is decoded only to see whether it ends its transaction. Servers such as
            // OpenSSL's close the connection then while answering keep-alive, and a pooled connection reused for another
            // device's request could meet a reset that a POST cannot safely retry (RFC 6712 §3.2: persistence is optional).
            CmpDecodeResult peek = PkiMessageCodec.Decode(request.Payload.Span);
            message.Headers.ConnectionClose = peek.IsSuccess && CmpTransactionEnd.IsLastRequest(peek.Message) ? true : null;
            using HttpResponseMessage response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            return (await AnswerAsync(context.RemoteEndPoint, target, response, started, linked.Token), true);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogUpstreamFailed(target, context.RemoteEndPoint, "5.04", $"no answer within {Options.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
            return (Diagnostic(CoapCode.GatewayTimeout, "the upstream CMP server did not answer in time"), true);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
        {
            LogUpstreamFailed(target, context.RemoteEndPoint, "5.03", Reason(ex));
            return (Diagnostic(CoapCode.ServiceUnavailable, "the upstream CMP server cannot be reached").SetUInt(CoapOptionNumber.MaxAge, Options.RetryAfterSeconds), true);
        }
        catch (HttpRequestException ex)
        {
            // TLS with the upstream failed (its certificate is not trusted, or it refused ours), or it broke the HTTP protocol.
            LogUpstreamFailed(target, context.RemoteEndPoint, "5.02", Reason(ex));
            return (Diagnostic(CoapCode.BadGateway, ex.HttpRequestError == HttpRequestError.SecureConnectionError
                ? "TLS with the upstream CMP server failed"
                : "the upstream CMP server's answer was not usable HTTP"), true);
        }
        catch (IOException ex)
        {
            // The connection broke while the body was read.
            LogUpstreamFailed(target, context.RemoteEndPoint, "5.02", ex.Message);
            return (Diagnostic(CoapCode.BadGateway, "the upstream CMP server's answer was cut off"), true);
        }
    }

    private async Task<CoapMessage> AnswerAsync(EndPoint peer, Uri target, HttpResponseMessage response, long started, CancellationToken cancellationToken)
    {
        int status = (int)response.StatusCode;
        string statusText = $"{status.ToString(CultureInfo.InvariantCulture)} {response.ReasonPhrase}".Trim();
        string? type = response.Content.Headers.ContentType?.MediaType;
        bool pkix = string.Equals(type, CmpHttpEndpoints.MediaType, StringComparison.OrdinalIgnoreCase);
        if (response.Content.Headers.ContentLength is long announced && announced > Options.MaxResponseBytes)
        {
            LogUpstreamFailed(target, peer, "5.02", $"HTTP {statusText} with {announced.ToString(CultureInfo.InvariantCulture)} bytes, more than {Options.MaxResponseBytes.ToString(CultureInfo.InvariantCulture)}");
            return Diagnostic(CoapCode.BadGateway, "the upstream CMP server's answer is too large");
        }

        byte[]? body = await ReadBoundedAsync(response.Content, Options.MaxResponseBytes, cancellationToken);
        if (body is null)
        {
            LogUpstreamFailed(target, peer, "5.02", $"HTTP {statusText} with more than {Options.MaxResponseBytes.ToString(CultureInfo.InvariantCulture)} bytes");
            return Diagnostic(CoapCode.BadGateway, "the upstream CMP server's answer is too large");
        }

        // RFC 9811 §3.3 lets a server send a CMP error message with an HTTP error status; over CoAP a CMP-level answer, error
        // bodies included, is a 2.04 (RFC 9482 §2.3), so any status with a PKIMessage is passed on as one.
        if (pkix && body.Length > 0 && IsOneSequence(body) && status is (>= 200 and < 300) or (>= 400 and < 600))
        {
            if (status != 200)
            {
                LogUpstreamStatusWithMessage(target, peer, statusText);
            }

            LogForwarded(peer, target, status, body.Length, _time.GetElapsedTime(started).TotalMilliseconds);
            return new CoapMessage { Code = CoapCode.Changed }.WithContentFormat(CoapContentFormat.PkixCmp).WithPayload(body);
        }

        if (response.IsSuccessStatusCode)
        {
            string what = body.Length == 0 ? "an empty body" : $"{type ?? "no Content-Type"}{(pkix ? " that is not a PKIMessage" : string.Empty)}";
            LogUpstreamFailed(target, peer, "5.02", $"HTTP {statusText} with {what}");
            return Diagnostic(CoapCode.BadGateway, $"the upstream CMP server answered HTTP {statusText} with {what}, not a PKIMessage");
        }

        CoapCode code = MapStatus(response.StatusCode);
        LogUpstreamFailed(target, peer, $"{code.Class}.{code.Detail:00}", $"HTTP {statusText}");
        CoapMessage answer = Diagnostic(code, $"upstream CMP server: HTTP {statusText}");
        if (code == CoapCode.ServiceUnavailable || code == CoapCode.TooManyRequests)
        {
            // RFC 8075 §7 note 8, read backwards: the upstream's Retry-After becomes Max-Age.
            answer = answer.SetUInt(CoapOptionNumber.MaxAge, RetryAfter(response) ?? Options.RetryAfterSeconds);
        }

        return answer;
    }

    private uint? RetryAfter(HttpResponseMessage response) =>
        HttpRetryAfter.Of(response, _time.GetUtcNow()) is { } d ? (uint)Math.Clamp(Math.Ceiling(d.TotalSeconds), 0, uint.MaxValue) : null;

    /// <summary>The body, or null when it is longer than <paramref name="limit"/>.</summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        await using Stream stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static bool IsOneSequence(ReadOnlySpan<byte> der)
    {
        try
        {
            return AsnDecoder.TryReadEncodedValue(der, AsnEncodingRules.BER, out Asn1Tag tag, out _, out _, out int consumed)
                && tag == Asn1Tag.Sequence && consumed == der.Length;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    private static string Reason(Exception ex)
    {
        var parts = new List<string>();
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            parts.Add(e.Message);
        }

        return string.Join(": ", parts.Distinct());
    }

    private static CoapMessage Diagnostic(CoapCode code, string text) => new CoapMessage { Code = code }.WithPayload(text);

    [LoggerMessage(440, LogLevel.Warning, "CMP upstream {Upstream} failed for {Peer}, answered {CoapCode}: {Reason}")]
    private partial void LogUpstreamFailed(Uri upstream, EndPoint peer, string coapCode, string reason);

    [LoggerMessage(441, LogLevel.Information, "CMP upstream {Upstream} answered HTTP {Status} with a PKIMessage for {Peer}; passed on as 2.04 (RFC 9482 §2.3)")]
    private partial void LogUpstreamStatusWithMessage(Uri upstream, EndPoint peer, string status);

    [LoggerMessage(442, LogLevel.Debug, "CMP request of {Peer} forwarded to {Upstream}: HTTP {Status}, {Bytes} bytes back in {Milliseconds} ms")]
    private partial void LogForwarded(EndPoint peer, Uri upstream, int status, int bytes, double milliseconds);

    [LoggerMessage(443, LogLevel.Debug, "CMP request of {Peer} not forwarded: {Limit} ({InFlight} in flight)")]
    private partial void LogLimited(EndPoint peer, PeerConcurrencyStatus limit, int inFlight);
}
