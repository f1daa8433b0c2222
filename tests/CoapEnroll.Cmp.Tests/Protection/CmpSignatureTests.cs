using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using static CoapEnroll.Cmp.Tests.Protection.CmpMacTests;
using static CoapEnroll.Cmp.Tests.Protection.ProtectionTestData;

namespace CoapEnroll.Cmp.Tests.Protection;

public sealed class CmpSignatureTests
{
    public static TheoryData<string, string> Keys => new()
    {
        { "P-256", "1.2.840.10045.4.3.2" },
        { "P-384", "1.2.840.10045.4.3.3" },
        { "P-521", "1.2.840.10045.4.3.4" },
        { "RSA", "1.2.840.113549.1.1.11" },
    };

    private static X509Certificate2 Cert(string key, string cn = "dev") => key switch
    {
        "P-256" => EcCert(ECCurve.NamedCurves.nistP256, cn),
        "P-384" => EcCert(ECCurve.NamedCurves.nistP384, cn),
        "P-521" => EcCert(ECCurve.NamedCurves.nistP521, cn),
        _ => RsaCert(cn),
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public void RoundTripIsValid(string key, string expectedOid)
    {
        using X509Certificate2 cert = Cert(key);
        using X509Certificate2 ca = Cert("P-256", "ca");
        PkiMessage unprotected = Unprotected(senderKid: new byte[] { 1, 2, 3 });
        PkiMessage m = CmpProtection.ProtectWithSignature(unprotected, cert, [cert, ca]);
        Assert.Equal(CmpProtectionKind.Signature, CmpProtection.GetKind(m));
        Assert.Equal(expectedOid, m.Header.ProtectionAlg!.Algorithm);
        Assert.Equal(new[] { cert.RawData, ca.RawData }, m.ExtraCerts!.Select(c => c.ToArray()));
        Assert.Equal(new byte[] { 1, 2, 3 }, m.Header.SenderKid!.Value.ToArray());
        Assert.Equal(
            PkiMessageCodec.Encode(unprotected),
            PkiMessageCodec.Encode(new PkiMessage { Header = m.Header.WithProtectionAlg(null), Body = m.Body }));

        PkiMessage received = Received(m);
        using X509Certificate2 signer = PublicOnly(cert);
        CmpProtectionResult r = CmpProtection.VerifySignature(received, signer);
        Assert.True(r.IsValid, r.ToString());

        using X509Certificate2 first = X509CertificateLoader.LoadCertificate(received.ExtraCerts![0].Span);
        Assert.True(CmpProtection.VerifySignature(received, first).IsValid);
    }

    [Fact]
    public void KeyApartFromTheCertificate_RsaPss_IsValidWithRfc4055Parameters()
    {
        using X509Certificate2 cert = RsaCert("pss");
        using X509Certificate2 signer = PublicOnly(cert);
        // The key given apart from a certificate without one, as a PKCS#11 token's key is.
        using RSA key = cert.GetRSAPrivateKey()!;

        PkiMessage m = CmpProtection.ProtectWithSignature(Unprotected(), signer, key, RSASignaturePadding.Pss, []);

        Assert.Equal("1.2.840.113549.1.1.10", m.Header.ProtectionAlg!.Algorithm);
        CmpProtectionResult r = CmpProtection.VerifySignature(Received(m), signer);
        Assert.True(r.IsValid, r.ToString());
        Assert.False(CmpProtection.VerifySignature(Received(TamperedBody(m)), signer).IsValid);
    }

    [Fact]
    public void KeyApartFromTheCertificate_ThatIsNotItsKey_IsInvalid()
    {
        using X509Certificate2 cert = EcCert(ECCurve.NamedCurves.nistP256, "dev");
        using X509Certificate2 signer = PublicOnly(cert);
        using ECDsa own = cert.GetECDsaPrivateKey()!;
        using ECDsa other = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        Assert.True(CmpProtection.VerifySignature(Received(CmpProtection.ProtectWithSignature(Unprotected(), signer, own, RSASignaturePadding.Pkcs1, [])), signer).IsValid);
        Assert.False(CmpProtection.VerifySignature(Received(CmpProtection.ProtectWithSignature(Unprotected(), signer, other, RSASignaturePadding.Pkcs1, [])), signer).IsValid);
    }

    [Theory]
    [MemberData(nameof(Keys))]
    public void TamperedBodyWrongCertAndWrongKeyTypeAreInvalid(string key, string oid)
    {
        _ = oid;
        using X509Certificate2 cert = Cert(key);
        using X509Certificate2 other = Cert(key, "other");
        using X509Certificate2 otherType = Cert(key == "RSA" ? "P-256" : "RSA", "other");
        PkiMessage m = CmpProtection.ProtectWithSignature(Unprotected(), cert, []);
        Assert.Single(m.ExtraCerts!);
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifySignature(TamperedBody(m), cert).Status);
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifySignature(Received(m), other).Status);
        CmpProtectionResult mismatch = CmpProtection.VerifySignature(Received(m), otherType);
        Assert.Equal(CmpProtectionStatus.Invalid, mismatch.Status);
        Assert.Contains("key", mismatch.Detail, StringComparison.Ordinal);

        byte[] sig = m.Protection!.Value.ToArray();
        foreach (byte[] bad in new[] { sig[..^1], [], [0x30, 0x00], [.. sig, 0x00], Flip(sig, sig.Length / 2) })
        {
            CmpProtectionResult r = CmpProtection.VerifySignature(Received(WithAlg(m, m.Header.ProtectionAlg!.Algorithm, m.Header.ProtectionAlg.Parameters, bad)), cert);
            Assert.NotEqual(CmpProtectionStatus.Valid, r.Status);
        }
    }

    [Fact]
    public void ExtraCertsStartWithTheProtectionCertificateOnce()
    {
        using X509Certificate2 cert = Cert("P-256");
        using X509Certificate2 ca = Cert("P-256", "ca");
        using X509Certificate2 copy = PublicOnly(cert);
        PkiMessage m = CmpProtection.ProtectWithSignature(Unprotected(), cert, [ca, copy]);
        Assert.Equal(new[] { cert.RawData, ca.RawData }, m.ExtraCerts!.Select(c => c.ToArray()));
        Assert.Throws<ArgumentException>(() => CmpProtection.ProtectWithSignature(Unprotected(), copy, []));
    }

    [Theory]
    [InlineData("SHA256", 32)]
    [InlineData("SHA384", 48)]
    [InlineData("SHA512", 64)]
    public void RsaPssIsVerified(string hashName, int saltLength)
    {
        using X509Certificate2 cert = Cert("RSA");
        var hash = new HashAlgorithmName(hashName);
        string hashOid = hashName switch { "SHA256" => "2.16.840.1.101.3.4.2.1", "SHA384" => "2.16.840.1.101.3.4.2.2", _ => "2.16.840.1.101.3.4.2.3" };
        PkiMessage m = SignedPss(cert, PssParams(hashOid, hashOid, saltLength), hash);
        CmpProtectionResult r = CmpProtection.VerifySignature(m, PublicOnly(cert));
        Assert.True(r.IsValid, r.ToString());
        Assert.Equal(CmpProtectionKind.Signature, CmpProtection.GetKind(m));
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifySignature(TamperedBody(m), cert).Status);

        // A PKCS#1 v1.5 signature under the PSS identifier does not verify.
        PkiMessage pkcs1 = WithAlg(m, "1.2.840.113549.1.1.10", m.Header.ProtectionAlg!.Parameters, cert.GetRSAPrivateKey()!.SignData(m.GetProtectedPart(), hash, RSASignaturePadding.Pkcs1));
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifySignature(Received(pkcs1), cert).Status);
    }

    [Fact]
    public void RsaPssWithOtherParametersIsUnsupported()
    {
        using X509Certificate2 cert = Cert("RSA");
        const string Sha256 = "2.16.840.1.101.3.4.2.1";
        const string Sha384 = "2.16.840.1.101.3.4.2.2";
        byte[][] unsupported =
        [
            Sequence([]), // all defaults: SHA-1
            PssParams("1.3.14.3.2.26", "1.3.14.3.2.26", 20),
            PssParams(Sha256, Sha384, 32), // MGF1 hash differs
            PssParams(Sha256, Sha256, 20), // salt not the hash length
            PssParams(Sha256, Sha256, 32, trailer: 2),
            Sequence([.. Explicit(0, AlgId(Sha256)), .. Explicit(1, Sequence([.. Oid("1.2.3.4"), .. AlgId(Sha256)])), .. Explicit(2, Int(32))]),
        ];
        foreach (byte[] p in unsupported)
        {
            PkiMessage m = SignedPss(cert, p, HashAlgorithmName.SHA256);
            Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifySignature(m, cert).Status);
        }

        PkiMessage noParams = Received(WithAlg(Unprotected(), "1.2.840.113549.1.1.10", null));
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifySignature(noParams, cert).Status);

        byte[] good = PssParams(Sha256, Sha256, 32);
        for (int n = 0; n < good.Length - 2; n++)
        {
            CmpProtectionResult r = CmpProtection.VerifySignature(WithAlg(Unprotected(), "1.2.840.113549.1.1.10", Sequence(good.AsSpan(2, n))), cert);
            Assert.NotEqual(CmpProtectionStatus.Valid, r.Status);
        }
    }

    [Fact]
    public void OtherAlgorithmsAndParametersAreRefused()
    {
        using X509Certificate2 ec = Cert("P-256");
        PkiMessage m = Unprotected();
        Assert.Equal(CmpProtectionStatus.NotProtected, CmpProtection.VerifySignature(m, ec).Status);
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifySignature(Received(WithAlg(m, "1.2.840.10045.4.3.1", null)), ec).Status); // ecdsa-with-SHA224
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifySignature(Received(WithAlg(m, "1.2.840.113549.1.1.5", new byte[] { 5, 0 })), ec).Status); // sha1WithRSA
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifySignature(Received(CmpProtection.ProtectWithMac(m, "x"u8, CmpMacParameters.PasswordBasedMac())), ec).Status);
        Assert.Equal(CmpProtectionStatus.Malformed, CmpProtection.VerifySignature(Received(WithAlg(m, "1.2.840.10045.4.3.2", new byte[] { 5, 0 })), ec).Status);
        Assert.Equal(CmpProtectionStatus.Malformed, CmpProtection.VerifySignature(Received(WithAlg(m, "1.2.840.113549.1.1.11", new byte[] { 4, 0 })), ec).Status);
        Assert.Equal(CmpProtectionKind.Signature, CmpProtection.GetKind(WithAlg(m, "1.3.101.112", null)));
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifySignature(Received(WithAlg(m, "1.3.101.112", null)), ec).Status);
    }

    private static PkiMessage SignedPss(X509Certificate2 cert, byte[] parameters, HashAlgorithmName hash)
    {
        PkiMessage m = WithAlg(Unprotected(), "1.2.840.113549.1.1.10", parameters, []);
        using RSA key = cert.GetRSAPrivateKey()!;
        byte[] sig = key.SignData(m.GetProtectedPart(), hash, RSASignaturePadding.Pss);
        return Received(WithAlg(m, "1.2.840.113549.1.1.10", parameters, sig));
    }

    internal static byte[] PssParams(string hashOid, string mgfHashOid, int saltLength, int trailer = 1)
    {
        byte[] content =
        [
            .. Explicit(0, AlgId(hashOid, withNull: true)),
            .. Explicit(1, Sequence([.. Oid("1.2.840.113549.1.1.8"), .. AlgId(mgfHashOid, withNull: true)])),
            .. Explicit(2, Int(saltLength)),
            .. (trailer == 1 ? [] : Explicit(3, Int(trailer))),
        ];
        return Sequence(content);
    }

    private static byte[] Explicit(int number, byte[] inner)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        var tag = new Asn1Tag(TagClass.ContextSpecific, number, isConstructed: true);
        w.PushSequence(tag);
        w.WriteEncodedValue(inner);
        w.PopSequence(tag);
        return w.Encode();
    }

    private static byte[] Flip(byte[] data, int index)
    {
        byte[] copy = (byte[])data.Clone();
        copy[index] ^= 0x01;
        return copy;
    }
}
