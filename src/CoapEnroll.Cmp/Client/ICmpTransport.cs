namespace CoapEnroll.Cmp;

/// <summary>Carries one DER PKIMessage to a CMP server and returns the DER PKIMessage it answered (RFC 9811 HTTP, RFC 9482 CoAP).</summary>
public interface ICmpTransport
{
    /// <summary>Sends <paramref name="der"/> and returns the answer's body.</summary>
    /// <param name="der">The DER PKIMessage.</param>
    /// <param name="endsTransaction">
    /// True when the answer is expected to end the transaction (certConf, rr, genm, or a request asking for implicit
    /// confirmation). Servers such as OpenSSL's close the connection after a transaction although they answered with
    /// keep-alive, so a connection-oriented transport should not reuse the connection for the next transaction.
    /// </param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <exception cref="CmpTransportException">The transport answered with an error status (CoAP 4.xx/5.xx, HTTP 4xx/5xx) or an unusable answer.</exception>
    Task<byte[]> SendAsync(byte[] der, bool endsTransaction, CancellationToken cancellationToken);
}
