using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using static CoapEnroll.Cmp.Tests.Protection.ProtectionTestData;
using BcAlgorithmIdentifier = Org.BouncyCastle.Asn1.X509.AlgorithmIdentifier;
using BcCmp = Org.BouncyCastle.Asn1.Cmp;
using BcGeneralName = Org.BouncyCastle.Asn1.X509.GeneralName;
using BcName = Org.BouncyCastle.Asn1.X509.X509Name;
using BcX509Certificate = Org.BouncyCastle.X509.X509Certificate;

namespace CoapEnroll.Cmp.Tests.Protection;

/// <summary>Protection checked against an independent implementation, BouncyCastle (test-only dependency), in both directions.</summary>
public sealed class BouncyCastleProtectionTests
{
    private const string Password = "s3cr3t";

    private static Org.BouncyCastle.Cmp.ProtectedPkiMessageBuilder BcBuilder() =>
        new Org.BouncyCastle.Cmp.ProtectedPkiMessageBuilder(
            new BcGeneralName(new BcName("CN=bc")), new BcGeneralName(new BcName("CN=ca")))
            .SetTransactionId(RandomNumberGenerator.GetBytes(16))
            .SetSenderNonce(RandomNumberGenerator.GetBytes(16))
            .SetBody(new BcCmp.PkiBody(BcCmp.PkiBody.TYPE_CONFIRM, DerNull.Instance));

    private static PkiMessage Ours(Org.BouncyCastle.Cmp.ProtectedPkiMessage bc)
    {
        CmpDecodeResult r = PkiMessageCodec.Decode(bc.ToAsn1Message().GetEncoded(Asn1Encodable.Der));
        Assert.True(r.IsSuccess, r.Reason);
        Assert.Equal(PkiBodyType.PkiConf, r.Message.Body.BodyType);
        return r.Message;
    }

    private static Org.BouncyCastle.Cmp.ProtectedPkiMessage Bc(PkiMessage ours) =>
        new(BcCmp.PkiMessage.GetInstance(PkiMessageCodec.Encode(ours)));

    [Fact]
    public void BcPasswordBasedMacWithSha256VerifiesWithOurs()
    {
        var builder = new Org.BouncyCastle.Crmf.PKMacBuilder(
            new Org.BouncyCastle.Crmf.DefaultPKMacPrimitivesProvider(),
            new BcAlgorithmIdentifier(NistObjectIdentifiers.IdSha256),
            new BcAlgorithmIdentifier(PkcsObjectIdentifiers.IdHmacWithSha256, DerNull.Instance));
        builder.SetIterationCount(1500);
        PkiMessage m = Ours(BcBuilder().Build(builder.Build(Password.ToCharArray())));
        Assert.Equal(CmpProtectionKind.PasswordBasedMac, CmpProtection.GetKind(m));
        CmpProtectionResult r = CmpProtection.VerifyMac(m, "s3cr3t"u8, new CmpMacPolicy());
        Assert.True(r.IsValid, r.ToString());
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(m, "wrong"u8, new CmpMacPolicy()).Status);
        Assert.Equal(CmpProtectionStatus.WeakParameters, CmpProtection.VerifyMac(m, "s3cr3t"u8, new CmpMacPolicy { MaxIterations = 1000 }).Status);
    }

    [Fact]
    public void BcDefaultPasswordBasedMacIsSha1AndNeedsThePolicy()
    {
        var builder = new Org.BouncyCastle.Crmf.PKMacBuilder();
        PkiMessage m = Ours(BcBuilder().Build(builder.Build(Password.ToCharArray())));
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifyMac(m, "s3cr3t"u8, new CmpMacPolicy()).Status);
        CmpProtectionResult r = CmpProtection.VerifyMac(m, "s3cr3t"u8, new CmpMacPolicy { AllowHmacSha1 = true });
        Assert.True(r.IsValid, r.ToString());
    }

    [Fact]
    public void OurPasswordBasedMacVerifiesWithBc()
    {
        PkiMessage ours = CmpProtection.ProtectWithMac(Unprotected(), "s3cr3t"u8, CmpMacParameters.PasswordBasedMac(2000));
        Org.BouncyCastle.Cmp.ProtectedPkiMessage bc = Bc(ours);
        Assert.True(bc.HasPasswordBasedMacProtected);
        Assert.True(bc.Verify(new Org.BouncyCastle.Crmf.PKMacBuilder(), Password.ToCharArray()));
        Assert.False(Bc(ours).Verify(new Org.BouncyCastle.Crmf.PKMacBuilder(), "wrong".ToCharArray()));
        Assert.False(Bc(TamperedBody(ours)).Verify(new Org.BouncyCastle.Crmf.PKMacBuilder(), Password.ToCharArray()));
    }

    [Theory]
    [InlineData(2000, 32)]
    [InlineData(1000, 16)]
    public void BcBuiltPbmac1VerifiesWithOurs(int iterations, int keyLength)
    {
        // BouncyCastle for C# has no PBMAC1 builder: its ASN.1 types, PBKDF2 and HMAC do the work behind ProtectedPkiMessageBuilder.
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        var factory = new BcPbmac1Factory(Password, salt, iterations, keyLength);
        PkiMessage m = Ours(BcBuilder().Build(factory));
        Assert.Equal(CmpProtectionKind.Pbmac1, CmpProtection.GetKind(m));
        CmpProtectionResult r = CmpProtection.VerifyMac(m, "s3cr3t"u8, new CmpMacPolicy());
        Assert.True(r.IsValid, r.ToString());
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(m, "s3cr3"u8, new CmpMacPolicy()).Status);
    }

    [Fact]
    public void OurPbmac1RecomputedWithBc()
    {
        PkiMessage ours = CmpProtection.ProtectWithMac(Unprotected(), "s3cr3t"u8, CmpMacParameters.Pbmac1(4096));
        BcCmp.PkiMessage bc = BcCmp.PkiMessage.GetInstance(PkiMessageCodec.Encode(ours));
        Assert.Equal(PkcsObjectIdentifiers.IdPbmac1, bc.Header.ProtectionAlg.Algorithm);
        var p = Pbmac1Params.GetInstance(bc.Header.ProtectionAlg.Parameters);
        Assert.Equal(PkcsObjectIdentifiers.IdPbkdf2, p.KeyDerivationFunc.Algorithm);
        Assert.Equal(PkcsObjectIdentifiers.IdHmacWithSha256, p.MessageAuthScheme.Algorithm);
        var kdf = Pbkdf2Params.GetInstance(p.KeyDerivationFunc.Parameters);
        Assert.Equal(PkcsObjectIdentifiers.IdHmacWithSha256, kdf.Prf.Algorithm);
        Assert.Equal(4096, kdf.IterationCount.IntValueExact);
        Assert.Equal(32, kdf.KeyLength.IntValueExact);
        byte[] mac = BcPbmac1Factory.Mac(Password, kdf.GetSalt(), 4096, 32, new DerSequence(bc.Header, bc.Body).GetEncoded(Asn1Encodable.Der));
        Assert.Equal(mac, bc.Protection.GetOctets());
    }

    [Theory]
    [InlineData("P-256", "SHA256WITHECDSA")]
    [InlineData("P-384", "SHA384WITHECDSA")]
    [InlineData("RSA", "SHA256WITHRSA")]
    [InlineData("RSA", "SHA512WITHRSA")]
    [InlineData("RSA", "SHA256WITHRSAANDMGF1")]
    [InlineData("RSA", "SHA384WITHRSAANDMGF1")]
    public void BcSignatureVerifiesWithOurs(string key, string bcAlgorithm)
    {
        using X509Certificate2 cert = key == "RSA" ? RsaCert("bc") : EcCert(key == "P-256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384, "bc");
        AsymmetricKeyParameter privateKey = PrivateKeyFactory.CreateKey(ExportPkcs8(cert));
        PkiMessage m = Ours(BcBuilder()
            .AddCmpCertificate(new BcX509Certificate(cert.RawData))
            .Build(new Asn1SignatureFactory(bcAlgorithm, privateKey)));
        Assert.Equal(CmpProtectionKind.Signature, CmpProtection.GetKind(m));
        if (bcAlgorithm.EndsWith("MGF1", StringComparison.Ordinal))
        {
            Assert.Equal("1.2.840.113549.1.1.10", m.Header.ProtectionAlg!.Algorithm);
        }

        Assert.Equal(cert.RawData, m.ExtraCerts![0].ToArray());
        using X509Certificate2 signer = PublicOnly(cert);
        CmpProtectionResult r = CmpProtection.VerifySignature(m, signer);
        Assert.True(r.IsValid, r.ToString());
        using X509Certificate2 other = key == "RSA" ? RsaCert("other") : EcCert(ECCurve.NamedCurves.nistP256, "other");
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifySignature(m, other).Status);
    }

    [Theory]
    [InlineData("P-256")]
    [InlineData("P-384")]
    [InlineData("P-521")]
    [InlineData("RSA")]
    public void OurSignatureVerifiesWithBc(string key)
    {
        using X509Certificate2 cert = key switch
        {
            "P-256" => EcCert(ECCurve.NamedCurves.nistP256, "dev"),
            "P-384" => EcCert(ECCurve.NamedCurves.nistP384, "dev"),
            "P-521" => EcCert(ECCurve.NamedCurves.nistP521, "dev"),
            _ => RsaCert("dev"),
        };
        PkiMessage ours = CmpProtection.ProtectWithSignature(Unprotected(), cert, []);
        Org.BouncyCastle.Cmp.ProtectedPkiMessage bc = Bc(ours);
        BcX509Certificate bcCert = Assert.Single(bc.GetCertificates());
        Assert.Equal(cert.RawData, bcCert.GetEncoded());
        Assert.True(bc.Verify(new Asn1VerifierFactory(bc.ProtectionAlgorithm, bcCert.GetPublicKey())));
        Assert.False(Bc(TamperedBody(ours)).Verify(new Asn1VerifierFactory(bc.ProtectionAlgorithm, bcCert.GetPublicKey())));
    }

    private static byte[] ExportPkcs8(X509Certificate2 cert)
    {
        using ECDsa? ec = cert.GetECDsaPrivateKey();
        if (ec is not null)
        {
            return ec.ExportPkcs8PrivateKey();
        }

        using RSA rsa = cert.GetRSAPrivateKey()!;
        return rsa.ExportPkcs8PrivateKey();
    }

    /// <summary>A PBMAC1 (PBKDF2-HMAC-SHA256, HMAC-SHA256) MAC factory made of BouncyCastle parts.</summary>
    private sealed class BcPbmac1Factory : IMacFactory
    {
        private readonly byte[] _key;

        public BcPbmac1Factory(string password, byte[] salt, int iterations, int keyLength)
        {
            _key = DeriveKey(password, salt, iterations, keyLength);
            var hmacSha256 = new BcAlgorithmIdentifier(PkcsObjectIdentifiers.IdHmacWithSha256, DerNull.Instance);
            var pbkdf2 = new BcAlgorithmIdentifier(PkcsObjectIdentifiers.IdPbkdf2, new Pbkdf2Params(salt, iterations, keyLength, hmacSha256));
            AlgorithmDetails = new BcAlgorithmIdentifier(PkcsObjectIdentifiers.IdPbmac1, new Pbmac1Params(pbkdf2, hmacSha256));
        }

        public object AlgorithmDetails { get; }

        public IStreamCalculator<IBlockResult> CreateCalculator()
        {
            var mac = new HMac(new Sha256Digest());
            mac.Init(new KeyParameter(_key));
            return new DefaultMacCalculator(mac);
        }

        public static byte[] Mac(string password, byte[] salt, int iterations, int keyLength, byte[] data)
        {
            var mac = new HMac(new Sha256Digest());
            mac.Init(new KeyParameter(DeriveKey(password, salt, iterations, keyLength)));
            mac.BlockUpdate(data, 0, data.Length);
            byte[] result = new byte[mac.GetMacSize()];
            mac.DoFinal(result, 0);
            return result;
        }

        private static byte[] DeriveKey(string password, byte[] salt, int iterations, int keyLength)
        {
            var generator = new Pkcs5S2ParametersGenerator(new Sha256Digest());
            generator.Init(System.Text.Encoding.UTF8.GetBytes(password), salt, iterations);
            return ((KeyParameter)generator.GenerateDerivedMacParameters(keyLength * 8)).GetKey();
        }
    }
}
