using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Est.Tests;

/// <summary>EST's choices for 280 (RFC 7030 §4.4.2): algorithms from the CSR's SMIMECapabilities, and which signer the client accepts.</summary>
public sealed class ServerGeneratedKeyEnvelopeTests
{
    [Fact]
    public void Choose_needs_a_key_agreement_or_key_wrap_capability()
    {
        Assert.Throws<ArgumentException>(() => ServerGeneratedKeyEnvelope.ChooseKeyAgreement([EstOids.RsaesOaep, EstOids.Aes256Cbc], 256));
        Assert.Throws<ArgumentException>(() => ServerGeneratedKeyEnvelope.ChooseKeyAgreement([EstOids.Aes128Cbc], 256));
        Assert.Equal(new CmsKeyAgreementAlgorithms(EstOids.EcdhStdSha384Kdf, EstOids.Aes128Wrap, EstOids.Aes128Cbc),
            ServerGeneratedKeyEnvelope.ChooseKeyAgreement([EstOids.Aes128Wrap, EstOids.Aes128Cbc], 384));
        Assert.Equal(new CmsKeyAgreementAlgorithms(EstOids.EcdhStdSha256Kdf, EstOids.Aes128Wrap, EstOids.Aes128Cbc),
            ServerGeneratedKeyEnvelope.ChooseKeyAgreement([EstOids.EcdhStdSha256Kdf, EstOids.Aes128Cbc], 256));
        Assert.Equal(new CmsKeyAgreementAlgorithms(EstOids.EcdhStdSha1Kdf, EstOids.Aes256Wrap, EstOids.Aes256Cbc),
            ServerGeneratedKeyEnvelope.ChooseKeyAgreement([EstOids.EcdhStdSha1Kdf, EstOids.EcdhStdSha256Kdf], 256));
    }

    [Fact]
    public void Capability_parameters_choose_the_oaep_hash_and_the_key_wrap()
    {
        // RFC 4055 §4.1: id-RSAES-OAEP without parameters is SHA-1 with MGF1-SHA-1.
        Assert.Equal(RSAEncryptionPadding.OaepSHA1, ServerGeneratedKeyEnvelope.OaepPadding(new SmimeCapability(EstOids.RsaesOaep)));
        Assert.Equal(RSAEncryptionPadding.OaepSHA256, ServerGeneratedKeyEnvelope.OaepPadding(new SmimeCapability(EstOids.RsaesOaep, ServerGeneratedKeyEnvelope.OaepSha256Parameters())));

        // SHA-256 with MGF1-SHA-1 is something the platform cannot do: not usable.
        var mixed = new AsnWriter(AsnEncodingRules.DER);
        using (mixed.PushSequence())
        {
            using (mixed.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            using (mixed.PushSequence())
            {
                mixed.WriteObjectIdentifier(EstOids.Sha256);
            }
        }

        Assert.Null(ServerGeneratedKeyEnvelope.OaepPadding(new SmimeCapability(EstOids.RsaesOaep, mixed.Encode())));

        // RFC 5753 §5: the scheme's parameters name the key wrap, ahead of a wrap listed separately.
        Assert.Equal(new CmsKeyAgreementAlgorithms(EstOids.EcdhStdSha256Kdf, EstOids.Aes128Wrap, EstOids.Aes256Cbc),
            ServerGeneratedKeyEnvelope.ChooseKeyAgreement([new SmimeCapability(EstOids.EcdhStdSha256Kdf, CmsKeyAgreement.SchemeParameters(EstOids.Aes128Wrap)), EstOids.Aes256Wrap], 256));
    }

    [Fact]
    public void A_key_package_signed_by_someone_else_from_the_same_ca_is_refused()
    {
        // Every device holds a certificate from the EST CA: chaining to the anchor is not enough to be the key generator.
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=est ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        X509Certificate2 Leaf(string name)
        {
            using ECDsa leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(name, leafKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            return request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8)).CopyWithPrivateKey(leafKey);
        }

        using X509Certificate2 server = Leaf("CN=est server");
        using X509Certificate2 otherDevice = Leaf("CN=other device");
        (X509Certificate2 recipient, ECDiffieHellman key) = TestCertificates.EcRecipient("nistP256", withSki: true);
        using (key)
        {
            using ECDsa generated = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            byte[] pkcs8 = generated.ExportPkcs8PrivateKey();
            byte[] byOther = ServerGeneratedKeyEnvelope.Protect((byte[])pkcs8.Clone(), recipient, otherDevice, [], [EstOids.EcdhStdSha256Kdf]);
            byte[] byServer = ServerGeneratedKeyEnvelope.Protect((byte[])pkcs8.Clone(), recipient, server, [], [EstOids.EcdhStdSha256Kdf]);

            var ex = Assert.Throws<CryptographicException>(() => ServerGeneratedKeyEnvelope.Open(byOther, key, recipient, [ca], [], [server], DateTimeOffset.UtcNow));
            Assert.Contains("neither the EST server's certificate nor a configured key generator", ex.Message);
            Assert.Equal(pkcs8, ServerGeneratedKeyEnvelope.Open(byServer, key, recipient, [ca], [], [server], DateTimeOffset.UtcNow));
        }
    }
}
