using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Hosting;

/// <summary>
/// The server's own certificate with its private key, and the CA certificates it sends after it: what the coaps:// listener
/// presents in the DTLS handshake (and a future HTTPS listener in TLS), and what signs keys EST generates for devices
/// (RFC 7030 §4.4.2). The host's credential, not the CA's: the CA only issued it.
/// </summary>
public sealed class ServerCredential
{
    /// <param name="certificate">The server certificate with its private key.</param>
    /// <param name="intermediates">The CA certificates between it and the trust anchor, in order, without either.</param>
    public ServerCredential(X509Certificate2 certificate, IReadOnlyList<X509Certificate2> intermediates)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(intermediates);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("The server certificate needs its private key.", nameof(certificate));
        }

        Certificate = certificate;
        Intermediates = intermediates;
    }

    /// <summary>The server certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificates sent after <see cref="Certificate"/>: neither the certificate itself nor the trust anchor.</summary>
    public IReadOnlyList<X509Certificate2> Intermediates { get; }
}
