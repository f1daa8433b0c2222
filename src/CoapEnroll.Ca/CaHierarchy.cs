using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>The loaded CA hierarchy: trust anchor, issuing CA with its key, server credential and trusted manufacturer CAs.</summary>
public sealed class CaHierarchy
{
    internal CaHierarchy(CaDataLayout layout, X509Certificate2 trustAnchor, X509Certificate2 issuingCa, IReadOnlyList<X509Certificate2> intermediates,
        X509Certificate2 serverCertificate, IReadOnlyList<X509Certificate2> serverChain, IReadOnlyList<X509Certificate2> trustedManufacturerCas)
    {
        Layout = layout;
        TrustAnchor = trustAnchor;
        IssuingCa = issuingCa;
        Intermediates = intermediates;
        ServerCertificate = serverCertificate;
        ServerChain = serverChain;
        TrustedManufacturerCas = trustedManufacturerCas;
    }

    /// <summary>File locations.</summary>
    public CaDataLayout Layout { get; }

    /// <summary>The root CA certificate (no private key).</summary>
    public X509Certificate2 TrustAnchor { get; }

    /// <summary>The issuing CA certificate with its private key.</summary>
    public X509Certificate2 IssuingCa { get; }

    /// <summary>Certificates between the issuing CA and the trust anchor (empty for the demo hierarchy).</summary>
    public IReadOnlyList<X509Certificate2> Intermediates { get; }

    /// <summary>The CA certificates for EST /crts (RFC 7030 section 4.1.3, RFC 9148): issuing CA, intermediates, trust anchor.</summary>
    public IReadOnlyList<X509Certificate2> CaCertificates => [IssuingCa, .. Intermediates, TrustAnchor];

    /// <summary>The server's (D)TLS certificate with its private key.</summary>
    public X509Certificate2 ServerCertificate { get; }

    /// <summary>The certificates sent after the server certificate, up to but not including the trust anchor.</summary>
    public IReadOnlyList<X509Certificate2> ServerChain { get; }

    /// <summary>Manufacturer CAs whose device certificates are accepted for first enrollment.</summary>
    public IReadOnlyList<X509Certificate2> TrustedManufacturerCas { get; }
}
