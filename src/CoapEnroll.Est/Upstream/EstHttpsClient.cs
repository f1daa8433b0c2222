using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace CoapEnroll.Est.Upstream;

/// <summary>
/// An EST client over HTTPS (RFC 7030, with the corrections of RFC 8951): sends one operation to an EST server with the TLS client
/// credential, trust and connection pool of the <see cref="HttpClient"/> it is given (never disposed here), and decodes the answer:
/// base64 DER bodies (whitespace and line breaks allowed, Content-Transfer-Encoding ignored, RFC 8951 §3), multipart/mixed for
/// server-side key generation (§4.4.2), Retry-After of a 202 or 503. Every exchange ends within <see cref="Timeout"/>; a failure to
/// reach the server or to read its answer is a <see cref="EstHttpsResponse.Failure"/>, never an exception. Safe for concurrent use.
/// </summary>
public sealed class EstHttpsClient
{
    private const string WellKnownEst = "/.well-known/est";
    private const int MaxErrorText = 256;

    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    /// <param name="http">The pooled client: its handler holds the client certificate (a registrar's, with id-kp-cmcRA) and the trust.</param>
    /// <param name="server">
    /// <c>https://HOST[:PORT]</c>, optionally with <c>/.well-known/est</c> or <c>/.well-known/est/LABEL</c> (<see cref="TryParseServer"/>).
    /// </param>
    /// <param name="timeout">How long one exchange may take, connecting included.</param>
    /// <param name="maxResponseBytes">The largest answer body read; a larger one is <see cref="EstHttpsFailure.TooLarge"/>.</param>
    /// <param name="timeProvider">The clock for Retry-After dates.</param>
    /// <exception cref="ArgumentException"><paramref name="server"/> is not an EST server URI.</exception>
    public EstHttpsClient(HttpClient http, Uri server, TimeSpan timeout, int maxResponseBytes = 1024 * 1024, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(server);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxResponseBytes, 1);
        if (!TryParseServer(server, out Uri? root, out string? label, out string? problem))
        {
            throw new ArgumentException(problem, nameof(server));
        }

        _http = http;
        _time = timeProvider ?? TimeProvider.System;
        Root = root!;
        Label = label;
        Timeout = timeout;
        MaxResponseBytes = maxResponseBytes;
    }

    /// <summary>The server's EST root, <c>https://HOST:PORT/.well-known/est</c>.</summary>
    public Uri Root { get; }

    /// <summary>The label of the server URI (<c>/.well-known/est/LABEL</c>), used when a request names none; or null.</summary>
    public string? Label { get; }

    /// <summary>How long one exchange may take.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The largest answer body read.</summary>
    public int MaxResponseBytes { get; }

    /// <summary>
    /// Splits an EST server URI: https:// (or http://, for tests behind TLS-terminating proxies) with a host, and a path that is
    /// empty, <c>/.well-known/est</c> or <c>/.well-known/est/LABEL</c> (RFC 7030 §3.2.2); no query, fragment or user information.
    /// </summary>
    public static bool TryParseServer(Uri server, out Uri? root, out string? label, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(server);
        root = null;
        label = null;
        problem = null;
        if (!server.IsAbsoluteUri || server.Scheme is not ("https" or "http") || server.Host.Length == 0)
        {
            problem = $"'{server}' is not an absolute https:// URL with a host (e.g. https://ca.example/.well-known/est)";
            return false;
        }

        if (server.Query.Length > 0 || server.Fragment.Length > 0 || server.UserInfo.Length > 0)
        {
            problem = $"'{server}' must have no query, fragment or user information";
            return false;
        }

        string path = server.AbsolutePath.TrimEnd('/');
        if (path.Length > 0 && path != WellKnownEst)
        {
            string rest = path.StartsWith(WellKnownEst + "/", StringComparison.Ordinal) ? path[(WellKnownEst.Length + 1)..] : "";
            if (!IsLabel(rest))
            {
                problem = $"'{server}': the path must be empty, {WellKnownEst} or {WellKnownEst}/LABEL (RFC 7030 section 3.2.2)";
                return false;
            }

            label = rest;
        }

        root = new UriBuilder(server.Scheme, server.Host, server.Port, WellKnownEst).Uri;
        return true;
    }

    /// <summary>True when <paramref name="label"/> may name a CA label in a path segment (RFC 7030 §3.2.2): unreserved characters only.</summary>
    public static bool IsLabel(string? label) =>
        label is { Length: > 0 and <= 64 } && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    /// <summary>
    /// Sends <paramref name="operation"/> under <paramref name="label"/> (or <see cref="Label"/> when null) with <paramref name="der"/>
    /// as its body for the POST operations (a PKCS#10 CSR, sent as base64 with Content-Type application/pkcs10), and decodes the answer.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (not the timeout: that is a failure).</exception>
    public async Task<EstHttpsResponse> SendAsync(EstHttpsOperation operation, string? label, ReadOnlyMemory<byte> der, CancellationToken cancellationToken)
    {
        label ??= Label;
        if (label is not null && !IsLabel(label))
        {
            throw new ArgumentException($"'{label}' is not an EST label", nameof(label));
        }

        using var request = new HttpRequestMessage(IsPost(operation) ? HttpMethod.Post : HttpMethod.Get,
            new Uri($"{Root.AbsoluteUri}{(label is null ? "" : "/" + label)}/{PathOf(operation)}"));
        request.Headers.Accept.ParseAdd(operation switch
        {
            EstHttpsOperation.CsrAttrs => "application/csrattrs",
            EstHttpsOperation.ServerKeyGen => "multipart/mixed",
            _ => "application/pkcs7-mime",
        });
        if (IsPost(operation))
        {
            // RFC 7030 §4.2.1 and RFC 8951 §3: base64 of the DER, no Content-Transfer-Encoding needed.
            request.Content = new StringContent(Convert.ToBase64String(der.Span), Encoding.ASCII);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/pkcs10");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            byte[]? body = await ReadBoundedAsync(response.Content, timeout.Token);
            if (body is null)
            {
                return Failed(EstHttpsFailure.TooLarge, $"the answer is larger than {MaxResponseBytes} bytes", (int)response.StatusCode);
            }

            return Decode(operation, response, body);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed(EstHttpsFailure.Timeout, $"no answer within {Timeout.TotalSeconds:0.###} s");
        }
        catch (HttpRequestException ex)
        {
            return Failed(EstHttpsFailure.Unreachable, Describe(ex));
        }
    }

    private EstHttpsResponse Decode(EstHttpsOperation operation, HttpResponseMessage response, byte[] body)
    {
        int status = (int)response.StatusCode;
        TimeSpan? retryAfter = HttpRetryAfter.Of(response, _time.GetUtcNow());
        if (status != 200)
        {
            return new EstHttpsResponse { StatusCode = status, RetryAfter = retryAfter, Text = ErrorText(body) };
        }

        MediaTypeHeaderValue? type = response.Content.Headers.ContentType;
        string? mediaType = type?.MediaType?.ToLowerInvariant();
        if (operation == EstHttpsOperation.ServerKeyGen)
        {
            string? boundary = type?.Parameters.FirstOrDefault(p => p.Name.Equals("boundary", StringComparison.OrdinalIgnoreCase))?.Value?.Trim('"');
            if (mediaType != "multipart/mixed" || string.IsNullOrEmpty(boundary))
            {
                return Failed(EstHttpsFailure.InvalidResponse, $"/serverkeygen answered {mediaType ?? "no media type"}, not multipart/mixed with a boundary (RFC 7030 section 4.4.2)", status);
            }

            return DecodeMultipart(body, boundary, status);
        }

        string expected = operation == EstHttpsOperation.CsrAttrs ? "application/csrattrs" : "application/pkcs7-mime";
        if (mediaType != expected)
        {
            return Failed(EstHttpsFailure.InvalidResponse, $"/{PathOf(operation)} answered {mediaType ?? "no media type"}, not {expected}", status);
        }

        byte[]? der = FromBase64(body);
        return der is null
            ? Failed(EstHttpsFailure.InvalidResponse, $"/{PathOf(operation)} answered a body that is not base64 (RFC 8951 section 3)", status)
            : new EstHttpsResponse { StatusCode = status, Parts = [new EstHttpsPart(mediaType, SmimeTypeOf(type!), der)] };
    }

    // RFC 2046 §5.1.1: the body parts lie between "--boundary" delimiter lines, the last delimiter followed by "--". Each part has
    // headers, an empty line and its content (here base64).
    private static EstHttpsResponse DecodeMultipart(byte[] body, string boundary, int status)
    {
        string text = Encoding.ASCII.GetString(body);
        string delimiter = "--" + boundary;
        var parts = new List<EstHttpsPart>();
        int at = text.IndexOf(delimiter, StringComparison.Ordinal);
        while (at >= 0)
        {
            int after = at + delimiter.Length;
            if (string.CompareOrdinal(text, after, "--", 0, 2) == 0)
            {
                break;
            }

            int next = text.IndexOf("\n" + delimiter, after, StringComparison.Ordinal);
            if (next < 0)
            {
                return Failed(EstHttpsFailure.InvalidResponse, "multipart/mixed answer without its closing delimiter", status);
            }

            string part = text[after..next].TrimStart(' ', '\t').TrimStart('\r', '\n');
            int split = part.IndexOf("\n\n", StringComparison.Ordinal) is var lf and >= 0 ? lf : -1;
            int crlf = part.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            (int headerEnd, int contentStart) = crlf >= 0 && (split < 0 || crlf < split) ? (crlf, crlf + 4) : (split, split + 2);
            if (headerEnd < 0)
            {
                // A part with no headers: RFC 2046 makes it text/plain, which EST never sends.
                return Failed(EstHttpsFailure.InvalidResponse, "multipart/mixed body part without headers", status);
            }

            MediaTypeHeaderValue? partType = null;
            foreach (string line in part[..headerEnd].Split('\n'))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0 && line[..colon].Trim().Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    MediaTypeHeaderValue.TryParse(line[(colon + 1)..].Trim(), out partType);
                }
            }

            byte[]? der = FromBase64(Encoding.ASCII.GetBytes(part[contentStart..]));
            if (partType?.MediaType is not { } partMediaType || der is null)
            {
                return Failed(EstHttpsFailure.InvalidResponse, "multipart/mixed body part without a Content-Type or with a body that is not base64", status);
            }

            parts.Add(new EstHttpsPart(partMediaType.ToLowerInvariant(), SmimeTypeOf(partType), der));
            at = next + 1;
        }

        return parts.Count == 0
            ? Failed(EstHttpsFailure.InvalidResponse, "multipart/mixed answer without body parts", status)
            : new EstHttpsResponse { StatusCode = status, Parts = parts };
    }

    private async Task<byte[]?> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > MaxResponseBytes)
        {
            return null;
        }

        await using Stream stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new MemoryStream();
        byte[] chunk = new byte[8192];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxResponseBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    // Base64 with any white space between the characters (RFC 8951 §3: line breaks are common); null when it is not base64.
    private static byte[]? FromBase64(byte[] body)
    {
        string text = Encoding.ASCII.GetString(body);
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string? SmimeTypeOf(MediaTypeHeaderValue type) =>
        type.Parameters.FirstOrDefault(p => p.Name.Equals("smime-type", StringComparison.OrdinalIgnoreCase))?.Value?.Trim('"').ToLowerInvariant();

    // The server's error text for the logs and a diagnostic: printable ASCII only, at most MaxErrorText characters.
    private static string? ErrorText(byte[] body)
    {
        if (body.Length == 0)
        {
            return null;
        }

        var text = new StringBuilder();
        foreach (byte b in body.AsSpan(0, Math.Min(body.Length, MaxErrorText)))
        {
            text.Append(b is >= 0x20 and < 0x7F ? (char)b : ' ');
        }

        return text.ToString().Trim();
    }

    private static string Describe(HttpRequestException ex)
    {
        Exception inner = ex.InnerException ?? ex;
        return inner switch
        {
            SocketException socket => $"{socket.SocketErrorCode}: {socket.Message}",
            AuthenticationException tls => $"TLS: {tls.Message}",
            _ => ex.Message,
        };
    }

    private static EstHttpsResponse Failed(EstHttpsFailure failure, string text, int status = 0) => new() { Failure = failure, StatusCode = status, Text = text };

    private static bool IsPost(EstHttpsOperation operation) => operation is EstHttpsOperation.SimpleEnroll or EstHttpsOperation.SimpleReenroll or EstHttpsOperation.ServerKeyGen;

    private static string PathOf(EstHttpsOperation operation) => operation switch
    {
        EstHttpsOperation.CaCerts => "cacerts",
        EstHttpsOperation.SimpleEnroll => "simpleenroll",
        EstHttpsOperation.SimpleReenroll => "simplereenroll",
        EstHttpsOperation.CsrAttrs => "csrattrs",
        _ => "serverkeygen",
    };
}
