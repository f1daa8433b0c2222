using System.Globalization;
using System.Net;
using CoapEnroll.Coap;

namespace CoapEnroll.Cmp;

/// <summary>
/// CMP over CoAP (RFC 9482): a confirmable POST with Content-Format 259 to the path; the answer is accepted as 2.04 (RFC 9482 §2.3)
/// or 2.05 (earlier drafts) with Content-Format 259, 42 or none. The channel may be plain UDP (coap://) or a DTLS session (coaps://).
/// A 5.03 or 4.29 becomes a <see cref="CmpTransportException"/> with <see cref="CmpTransportException.RetryAfter"/> (Max-Age).
/// </summary>
public sealed class CmpCoapTransport : ICmpTransport, IAsyncDisposable
{
    private readonly CoapClient _client;
    private readonly EndPoint _remote;
    private readonly string _path;

    /// <summary>A transport over <paramref name="client"/> (owned: disposed with this transport) to <paramref name="path"/> at <paramref name="remote"/>.</summary>
    public CmpCoapTransport(CoapClient client, EndPoint remote, string path)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(path);
        _client = client;
        _remote = remote;
        _path = path;
    }

    /// <inheritdoc/>
    public async Task<byte[]> SendAsync(byte[] der, bool endsTransaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(der);
        CoapMessage request = CoapMessage.CreateRequest(CoapCode.Post, _path).WithContentFormat(CoapContentFormat.PkixCmp).WithPayload(der);
        CoapMessage response = await _client.SendAsync(request, _remote, cancellationToken);
        string code = $"{response.Code.Class}.{response.Code.Detail:00}";
        if (response.Code.IsClientError || response.Code.IsServerError)
        {
            string diagnostic = response.PayloadText.Trim();
            if (response.Code == CoapCode.ServiceUnavailable || response.Code == CoapCode.TooManyRequests)
            {
                // RFC 7252 §5.9.3.4 and RFC 8516: the server (or a proxy before it) did not act on the request and asks to be
                // asked again after Max-Age, 60 s when absent (§5.10.5). CmpClient sends the same request again then.
                uint maxAge = response.MaxAge ?? 60;
                throw new CmpTransportException($"CoAP {code}" + (diagnostic.Length > 0 ? $" ({diagnostic})" : string.Empty) + $", Max-Age {maxAge} s",
                    code, diagnostic, response.Code.IsServerError, TimeSpan.FromSeconds(maxAge));
            }

            throw new CmpTransportException($"CoAP {code}" + (diagnostic.Length > 0 ? $" ({diagnostic})" : string.Empty), code, diagnostic, response.Code.IsServerError);
        }

        if (response.Code != CoapCode.Changed && response.Code != CoapCode.Content)
        {
            throw new CmpTransportException($"CoAP {code} is not a CMP answer (2.04 or 2.05 expected)");
        }

        if (response.ContentFormat is { } format && format is not (CoapContentFormat.PkixCmp or CoapContentFormat.OctetStream))
        {
            throw new CmpTransportException($"CoAP {code} with Content-Format {format.ToString(CultureInfo.InvariantCulture)}, not 259 (application/pkixcmp)");
        }

        return response.Payload.ToArray();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
