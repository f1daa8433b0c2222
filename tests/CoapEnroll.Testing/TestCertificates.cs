using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Testing;

/// <summary>Certificates the CMS tests encrypt to.</summary>
public static class TestCertificates
{
    /// <summary>
    /// A keyAgreement-only certificate for a fresh ECDH key on <paramref name="curve"/> from a throwaway issuer, with a subject key
    /// identifier (<paramref name="ski"/>, or one derived from the key) when <paramref name="withSki"/>.
    /// </summary>
    public static (X509Certificate2 Certificate, ECDiffieHellman Key) EcRecipient(string curve, bool withSki, byte[]? ski = null)
    {
        using ECDsa signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ECDiffieHellman key = ECDiffieHellman.Create(ECCurve.CreateFromFriendlyName(curve));
        var issuerRequest = new CertificateRequest("CN=test issuer", signer, HashAlgorithmName.SHA256);
        issuerRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 issuer = issuerRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        var leafRequest = new CertificateRequest(new X500DistinguishedName("CN=recipient"), new PublicKey(key), HashAlgorithmName.SHA256);
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyAgreement, critical: true));
        if (withSki)
        {
            leafRequest.CertificateExtensions.Add(ski is null
                ? new X509SubjectKeyIdentifierExtension(new PublicKey(key), false)
                : new X509SubjectKeyIdentifierExtension(ski, false));
        }

        X509Certificate2 certificate = leafRequest.Create(issuer, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
        return (certificate, key);
    }
}
