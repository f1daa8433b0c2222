namespace CoapEnroll.Cmp;

/// <summary>Carries one DER PKIMessage to a CMP server and returns the DER PKIMessage it answered (RFC 9811 HTTP, RFC 9482 CoAP).</summary>
public interface ICmpTransport
{
    /// <summary>Sends <paramref name="der"/> and returns the answer's body.</summary>
    /// <exception cref="CmpTransportException">The transport answered with an error status (CoAP 4.xx/5.xx, HTTP 4xx/5xx) or an unusable answer.</exception>
    Task<byte[]> SendAsync(byte[] der, CancellationToken cancellationToken);
}
