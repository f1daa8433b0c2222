using System.Globalization;
using System.Net.Http.Headers;

namespace CoapEnroll.Cmp;

/// <summary>CMP over HTTP(S) (RFC 9811): POST application/pkixcmp to the URI, a 200 answer with application/pkixcmp.</summary>
public sealed class CmpHttpTransport : ICmpTransport
{
    private const string MediaType = "application/pkixcmp";
    private readonly HttpClient _http;
    private readonly Uri _uri;

    /// <summary>A transport posting to <paramref name="uri"/> with <paramref name="http"/> (not disposed here).</summary>
    public CmpHttpTransport(HttpClient http, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(uri);
        _http = http;
        _uri = uri;
    }

    /// <inheritdoc/>
    public async Task<byte[]> SendAsync(byte[] der, bool endsTransaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(der);
        using var content = new ByteArrayContent(der);
        content.Headers.ContentType = new MediaTypeHeaderValue(MediaType);
        using var request = new HttpRequestMessage(HttpMethod.Post, _uri) { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaType));

        // RFC 6712 §3.2: persistent connections are only an optimization and servers may end them. OpenSSL's server ends
        // them after each transaction while still answering keep-alive; a pooled connection reused for the next
        // transaction can then meet a reset, which cannot be safely retried for a POST.
        request.Headers.ConnectionClose = endsTransaction ? true : null;
        using HttpResponseMessage response = await _http.SendAsync(request, cancellationToken);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        int code = (int)response.StatusCode;
        string? type = response.Content.Headers.ContentType?.MediaType;

        // RFC 9811 §3.3: CMP-level errors come as a PKIMessage, which servers may send with an error status too.
        if (type == MediaType && body.Length > 0 && (response.IsSuccessStatusCode || code is >= 400 and < 600))
        {
            return body;
        }

        string status = code.ToString(CultureInfo.InvariantCulture);
        if (!response.IsSuccessStatusCode)
        {
            string diagnostic = type is not null && type.StartsWith("text/", StringComparison.Ordinal) ? System.Text.Encoding.UTF8.GetString(body).Trim() : string.Empty;
            if (code is 503 or 429 && HttpRetryAfter.Of(response, DateTimeOffset.UtcNow) is { } retryAfter)
            {
                // RFC 9110 §15.6.4 and RFC 6585 §4: not acted on; come back after Retry-After. Without the header there is no
                // promise that waiting helps, so that stays an error.
                throw new CmpTransportException($"HTTP {status} {response.ReasonPhrase}" + (diagnostic.Length > 0 ? $" ({diagnostic})" : string.Empty)
                    + $", Retry-After {Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s", status, diagnostic, code >= 500, retryAfter);
            }

            throw new CmpTransportException($"HTTP {status} {response.ReasonPhrase}" + (diagnostic.Length > 0 ? $" ({diagnostic})" : string.Empty), status, diagnostic, code >= 500);
        }

        throw new CmpTransportException($"HTTP {status} answered {type ?? "no Content-Type"}, not {MediaType}");
    }
}
