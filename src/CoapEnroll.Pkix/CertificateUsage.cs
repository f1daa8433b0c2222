using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix;

/// <summary>What a certificate's extensions allow it to be: a CA (basicConstraints), or a holder of an extended key usage.</summary>
public static class CertificateUsage
{
    /// <summary>Whether the certificate's basicConstraints say cA.</summary>
    public static bool IsCertificateAuthority(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault()?.CertificateAuthority == true;
    }

    /// <summary>Whether the certificate's extendedKeyUsage lists <paramref name="oid"/> (false without the extension).</summary>
    /// <exception cref="CryptographicException">The extension is malformed.</exception>
    public static bool HasExtendedKeyUsage(X509Certificate2 certificate, string oid)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Any(e => e.EnhancedKeyUsages.Cast<Oid>().Any(u => u.Value == oid));
    }
}
