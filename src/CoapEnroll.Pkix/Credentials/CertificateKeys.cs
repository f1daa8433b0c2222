using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix;

/// <summary>Private keys and the certificates they belong to.</summary>
public static class CertificateKeys
{
    /// <summary>
    /// <paramref name="certificate"/> with <paramref name="key"/> (RSA, ECDsa or ECDiffieHellman) attached. A certificate whose key usage
    /// allows only keyAgreement gets its EC key as <see cref="ECDiffieHellman"/>, since the platform refuses ECDsa there. The caller checks
    /// that the key belongs to the certificate; the platform throws <see cref="ArgumentException"/> when it does not.
    /// </summary>
    /// <exception cref="ArgumentException">The key is of another kind, or does not belong to the certificate.</exception>
    public static X509Certificate2 AttachPrivateKey(X509Certificate2 certificate, AsymmetricAlgorithm key) =>
        AttachPrivateKey(certificate, key, keyAgreementCertificates: true);

    /// <summary>
    /// As <see cref="AttachPrivateKey(X509Certificate2, AsymmetricAlgorithm)"/>; with <paramref name="keyAgreementCertificates"/> false,
    /// an ECDsa key for a keyAgreement-only certificate is refused (<see cref="ArgumentException"/>), as credentials for signing need.
    /// </summary>
    internal static X509Certificate2 AttachPrivateKey(X509Certificate2 certificate, AsymmetricAlgorithm key, bool keyAgreementCertificates)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        switch (key)
        {
            case RSA rsa:
                return certificate.CopyWithPrivateKey(rsa);
            case ECDsa ec:
                if (!keyAgreementCertificates)
                {
                    return certificate.CopyWithPrivateKey(ec);
                }

                using (ECDsa? signing = certificate.GetECDsaPublicKey())
                {
                    if (signing is not null)
                    {
                        return certificate.CopyWithPrivateKey(ec);
                    }
                }

                ECParameters parameters = ec.ExportParameters(includePrivateParameters: true);
                try
                {
                    using ECDiffieHellman agreement = ECDiffieHellman.Create(parameters);
                    return certificate.CopyWithPrivateKey(agreement);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(parameters.D);
                }

            case ECDiffieHellman dh:
                return certificate.CopyWithPrivateKey(dh);
            default:
                throw new ArgumentException($"a {key?.GetType().Name ?? "null"} key cannot be attached; RSA or EC keys can", nameof(key));
        }
    }
}
