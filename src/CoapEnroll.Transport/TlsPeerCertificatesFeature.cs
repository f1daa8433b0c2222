using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Transport;

/// <summary>
/// The certificate chain a TLS client sent in its handshake (leaf first, then the CA certificates it sent, as sent), unjudged: a
/// connection feature that a TLS stream listener (CoapEnroll.Hosting's HTTPS listener) sets, because ASP.NET Core's
/// <c>ITlsConnectionFeature</c> carries only the leaf. The TLS layer accepts any certificate; trust is decided above (EST's
/// enrollment core), as with <see cref="ISecureSession.PeerCertificates"/> over DTLS. Read it with
/// <c>HttpContext.Features.Get&lt;TlsPeerCertificatesFeature&gt;()</c>.
/// </summary>
public sealed class TlsPeerCertificatesFeature
{
    private IReadOnlyList<X509Certificate2> _certificates = [];

    /// <summary>The peer's certificates, its own first; empty when it sent none (or before the handshake).</summary>
    public IReadOnlyList<X509Certificate2> Certificates => Volatile.Read(ref _certificates);

    /// <summary>
    /// Records the peer's <paramref name="leaf"/> and the certificates it sent with it (<paramref name="sent"/>, which may contain the
    /// leaf again), as copies: the handshake disposes its own.
    /// </summary>
    public void Capture(X509Certificate? leaf, X509Certificate2Collection? sent)
    {
        if (leaf is null)
        {
            Volatile.Write(ref _certificates, []);
            return;
        }

        byte[] leafDer = leaf.GetRawCertData();
        var chain = new List<X509Certificate2> { X509CertificateLoader.LoadCertificate(leafDer) };
        foreach (X509Certificate2 certificate in sent ?? [])
        {
            if (!certificate.RawData.AsSpan().SequenceEqual(leafDer) && chain.TrueForAll(c => !c.RawData.AsSpan().SequenceEqual(certificate.RawData)))
            {
                chain.Add(X509CertificateLoader.LoadCertificate(certificate.RawData));
            }
        }

        Volatile.Write(ref _certificates, chain);
    }
}
