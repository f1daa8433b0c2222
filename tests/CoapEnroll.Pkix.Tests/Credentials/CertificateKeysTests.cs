using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix.Tests;

/// <summary>One way to attach a private key to its certificate, key agreement certificates included.</summary>
public sealed class CertificateKeysTests
{
    [Fact]
    public void An_ec_key_for_a_key_agreement_only_certificate_is_attached_for_ecdh()
    {
        (X509Certificate2 certificate, ECDiffieHellman key) = TestCertificates.EcRecipient("nistP256", withSki: true);
        using (key)
        using (ECDsa asEcdsa = ECDsa.Create(key.ExportParameters(includePrivateParameters: true)))
        {
            using X509Certificate2 withKey = CertificateKeys.AttachPrivateKey(certificate, asEcdsa);
            using ECDiffieHellman? attached = withKey.GetECDiffieHellmanPrivateKey();
            Assert.NotNull(attached);
            Assert.Null(withKey.GetECDsaPrivateKey());

            // Credentials read for signing refuse it, as the platform does.
            Assert.Throws<ArgumentException>(() => CertificateKeys.AttachPrivateKey(certificate, asEcdsa, keyAgreementCertificates: false));
        }
    }

    [Fact]
    public void Signing_keys_attach_and_a_foreign_key_does_not()
    {
        using RSA rsa = RSA.Create(2048);
        using X509Certificate2 rsaCertificate = new CertificateRequest("CN=rsa", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        using ECDsa ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using ECDsa foreign = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 ecCertificate = new CertificateRequest("CN=ec", ec, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(ecCertificate.RawData);

        using (X509Certificate2 withRsa = CertificateKeys.AttachPrivateKey(X509CertificateLoader.LoadCertificate(rsaCertificate.RawData), rsa))
        {
            Assert.True(withRsa.HasPrivateKey);
        }

        using (X509Certificate2 withEc = CertificateKeys.AttachPrivateKey(publicOnly, ec))
        {
            Assert.NotNull(withEc.GetECDsaPrivateKey());
        }

        Assert.Throws<ArgumentException>(() => CertificateKeys.AttachPrivateKey(publicOnly, foreign));
        using var dsa = DSA.Create();
        Assert.Throws<ArgumentException>(() => CertificateKeys.AttachPrivateKey(publicOnly, dsa));
    }
}
