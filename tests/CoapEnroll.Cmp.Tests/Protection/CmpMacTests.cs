using System.Formats.Asn1;
using System.Security.Cryptography;
using static CoapEnroll.Cmp.Tests.Protection.ProtectionTestData;

namespace CoapEnroll.Cmp.Tests.Protection;

public sealed class CmpMacTests
{
    private static readonly byte[] Secret = "s3cr3t"u8.ToArray();

    public static TheoryData<string> Kinds => new() { "pbm", "pbmac1" };

    private static CmpMacParameters Parameters(string kind, int iterations = 1000) =>
        kind == "pbm" ? CmpMacParameters.PasswordBasedMac(iterations) : CmpMacParameters.Pbmac1(iterations);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void RoundTripIsValid(string kind)
    {
        PkiMessage unprotected = Unprotected(senderKid: "1234"u8.ToArray());
        PkiMessage protectedMessage = CmpProtection.ProtectWithMac(unprotected, Secret, Parameters(kind));
        Assert.Equal(kind == "pbm" ? CmpProtectionKind.PasswordBasedMac : CmpProtectionKind.Pbmac1, CmpProtection.GetKind(protectedMessage));
        Assert.Equal(CmpProtectionKind.None, CmpProtection.GetKind(unprotected));
        Assert.Equal(32, protectedMessage.Protection!.Value.Length);

        // Nothing but protectionAlg changed in the header.
        Assert.Equal(unprotected.Header.TransactionId!.Value.ToArray(), protectedMessage.Header.TransactionId!.Value.ToArray());
        Assert.Equal("1234"u8.ToArray(), protectedMessage.Header.SenderKid!.Value.ToArray());
        byte[] before = PkiMessageCodec.Encode(unprotected);
        byte[] after = PkiMessageCodec.Encode(new PkiMessage { Header = protectedMessage.Header.WithProtectionAlg(null), Body = protectedMessage.Body });
        Assert.Equal(before, after);

        CmpProtectionResult result = CmpProtection.VerifyMac(Received(protectedMessage), Secret, new CmpMacPolicy());
        Assert.True(result.IsValid, result.ToString());
        Assert.Null(result.Detail);

        // The constructed message verifies as well (protected part encoded from the model).
        Assert.True(CmpProtection.VerifyMac(protectedMessage, Secret, new CmpMacPolicy()).IsValid);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void FreshSaltEveryTime(string kind)
    {
        PkiMessage m = Unprotected();
        PkiMessage a = CmpProtection.ProtectWithMac(m, Secret, Parameters(kind));
        PkiMessage b = CmpProtection.ProtectWithMac(m, Secret, Parameters(kind));
        Assert.NotEqual(a.Header.ProtectionAlg!.Parameters!.Value.ToArray(), b.Header.ProtectionAlg!.Parameters!.Value.ToArray());
        Assert.NotEqual(a.Protection!.Value.ToArray(), b.Protection!.Value.ToArray());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TamperedBodyIsInvalid(string kind)
    {
        PkiMessage m = CmpProtection.ProtectWithMac(Unprotected(), Secret, Parameters(kind));
        CmpProtectionResult r = CmpProtection.VerifyMac(TamperedBody(m), Secret, new CmpMacPolicy());
        Assert.Equal(CmpProtectionStatus.Invalid, r.Status);
        Assert.NotNull(r.Detail);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TamperedProtectionIsInvalid(string kind)
    {
        PkiMessage m = CmpProtection.ProtectWithMac(Unprotected(), Secret, Parameters(kind));
        byte[] mac = m.Protection!.Value.ToArray();
        mac[^1] ^= 0x80;
        PkiMessage bad = WithAlg(m, m.Header.ProtectionAlg!.Algorithm, m.Header.ProtectionAlg.Parameters, mac);
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(Received(bad), Secret, new CmpMacPolicy()).Status);
        PkiMessage shortMac = WithAlg(m, m.Header.ProtectionAlg!.Algorithm, m.Header.ProtectionAlg.Parameters, mac[..20]);
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(Received(shortMac), Secret, new CmpMacPolicy()).Status);
        PkiMessage emptyMac = WithAlg(m, m.Header.ProtectionAlg!.Algorithm, m.Header.ProtectionAlg.Parameters, []);
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(Received(emptyMac), Secret, new CmpMacPolicy()).Status);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void WrongSecretIsInvalid(string kind)
    {
        PkiMessage m = Received(CmpProtection.ProtectWithMac(Unprotected(), Secret, Parameters(kind)));
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(m, "s3cr3T"u8, new CmpMacPolicy()).Status);
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(m, [], new CmpMacPolicy()).Status);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void IterationsOutsideThePolicyAreWeak(string kind)
    {
        PkiMessage low = Received(CmpProtection.ProtectWithMac(Unprotected(), Secret, Parameters(kind, 999)));
        CmpProtectionResult r = CmpProtection.VerifyMac(low, Secret, new CmpMacPolicy());
        Assert.Equal(CmpProtectionStatus.WeakParameters, r.Status);
        Assert.Contains("999", r.Detail, StringComparison.Ordinal);
        Assert.True(CmpProtection.VerifyMac(low, Secret, new CmpMacPolicy { MinIterations = 999 }).IsValid);

        PkiMessage high = Received(CmpProtection.ProtectWithMac(Unprotected(), Secret, Parameters(kind, 2001)));
        Assert.Equal(CmpProtectionStatus.WeakParameters, CmpProtection.VerifyMac(high, Secret, new CmpMacPolicy { MaxIterations = 2000 }).Status);
        Assert.True(CmpProtection.VerifyMac(high, Secret, new CmpMacPolicy { MaxIterations = 2001 }).IsValid);
    }

    [Fact]
    public void HugeAndNegativeIterationCountsAreWeakWithoutWork()
    {
        foreach (byte[] count in new[] { new byte[] { 0x02, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 }, [0x02, 0x04, 0x7F, 0xFF, 0xFF, 0xFF], [0x02, 0x01, 0x00], [0x02, 0x01, 0xFF] })
        {
            byte[] pbm = Sequence([.. Octets(new byte[16]), .. AlgId("2.16.840.1.101.3.4.2.1"), .. count, .. AlgId("1.2.840.113549.2.9", withNull: true)]);
            PkiMessage m = Received(WithAlg(Unprotected(), "1.2.840.113533.7.66.13", pbm));
            Assert.Equal(CmpProtectionStatus.WeakParameters, CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy()).Status);
        }
    }

    [Fact]
    public void ShortSaltIsWeak()
    {
        byte[] pbm = Sequence([.. Octets(new byte[7]), .. AlgId("2.16.840.1.101.3.4.2.1"), .. Int(1000), .. AlgId("1.2.840.113549.2.9", withNull: true)]);
        PkiMessage m = Received(WithAlg(Unprotected(), "1.2.840.113533.7.66.13", pbm));
        Assert.Equal(CmpProtectionStatus.WeakParameters, CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy()).Status);
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy { MinSaltLength = 7 }).Status);
    }

    [Theory]
    [InlineData("1.3.14.3.2.26", "1.2.840.113549.2.9")] // SHA-1 owf
    [InlineData("2.16.840.1.101.3.4.2.1", "1.2.840.113549.2.7")] // hmacWithSHA1
    [InlineData("2.16.840.1.101.3.4.2.1", "1.3.6.1.5.5.8.1.2")] // hmac-sha1 (OpenSSL)
    public void Sha1PasswordBasedMacOnlyWhenAllowed(string owf, string mac)
    {
        PkiMessage m = Unprotected();
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] pbm = Sequence([.. Octets(salt), .. AlgId(owf), .. Int(1000), .. AlgId(mac)]);
        m = WithAlg(m, "1.2.840.113533.7.66.13", pbm);
        HashAlgorithmName owfHash = owf == "1.3.14.3.2.26" ? HashAlgorithmName.SHA1 : HashAlgorithmName.SHA256;
        HashAlgorithmName macHash = mac == "1.2.840.113549.2.9" ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA1;
        byte[] key = [.. Secret, .. salt];
        for (int i = 0; i < 1000; i++)
        {
            key = CryptographicOperations.HashData(owfHash, key);
        }

        m = Received(WithAlg(m, "1.2.840.113533.7.66.13", pbm, CryptographicOperations.HmacData(macHash, key, m.GetProtectedPart())));
        CmpProtectionResult refused = CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy());
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, refused.Status);
        Assert.Contains("SHA-1", refused.Detail, StringComparison.Ordinal);
        Assert.True(CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy { AllowHmacSha1 = true }).IsValid);
    }

    [Theory]
    [InlineData("1.2.840.113549.2.9", "1.2.840.113549.2.9", 32)]
    [InlineData("1.2.840.113549.2.10", "1.2.840.113549.2.10", 48)]
    [InlineData("1.2.840.113549.2.11", "1.2.840.113549.2.11", 64)]
    [InlineData("1.2.840.113549.2.11", "1.2.840.113549.2.9", 32)]
    public void Pbmac1WithOtherShaTwoHashesComputedIndependently(string prf, string mac, int keyLength)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] pbkdf2 = Sequence([.. Octets(salt), .. Int(1000), .. Int(keyLength), .. AlgId(prf, withNull: true)]);
        byte[] pbmac1 = Sequence([.. Sequence([.. Oid("1.2.840.113549.1.5.12"), .. pbkdf2]), .. AlgId(mac, withNull: true)]);
        PkiMessage m = WithAlg(Unprotected(), "1.2.840.113549.1.5.14", pbmac1);
        HashAlgorithmName H(string oid) => oid switch
        {
            "1.2.840.113549.2.9" => HashAlgorithmName.SHA256,
            "1.2.840.113549.2.10" => HashAlgorithmName.SHA384,
            _ => HashAlgorithmName.SHA512,
        };
        byte[] key = Rfc2898DeriveBytes.Pbkdf2(Secret, salt, 1000, H(prf), keyLength);
        m = Received(WithAlg(m, "1.2.840.113549.1.5.14", pbmac1, CryptographicOperations.HmacData(H(mac), key, m.GetProtectedPart())));
        Assert.True(CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy()).IsValid);
    }

    [Fact]
    public void Pbmac1DefaultPrfIsSha1AndKeyLengthIsChecked()
    {
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] pbkdf2 = Sequence([.. Octets(salt), .. Int(1000), .. Int(20)]);
        byte[] pbmac1 = Sequence([.. Sequence([.. Oid("1.2.840.113549.1.5.12"), .. pbkdf2]), .. AlgId("1.2.840.113549.2.9", withNull: true)]);
        PkiMessage m = WithAlg(Unprotected(), "1.2.840.113549.1.5.14", pbmac1);
        byte[] key = Rfc2898DeriveBytes.Pbkdf2(Secret, salt, 1000, HashAlgorithmName.SHA1, 20);
        m = Received(WithAlg(m, "1.2.840.113549.1.5.14", pbmac1, HMACSHA256.HashData(key, m.GetProtectedPart())));
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy()).Status);
        Assert.True(CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy { AllowHmacSha1 = true }).IsValid);
        Assert.Equal(CmpProtectionStatus.WeakParameters, CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy { AllowHmacSha1 = true, MinKeyLength = 21 }).Status);

        byte[] hugeKey = Sequence([.. Sequence([.. Oid("1.2.840.113549.1.5.12"), .. Sequence([.. Octets(salt), .. Int(1000), .. Int(1 << 20), .. AlgId("1.2.840.113549.2.9", withNull: true)])]), .. AlgId("1.2.840.113549.2.9", withNull: true)]);
        Assert.Equal(CmpProtectionStatus.WeakParameters, CmpProtection.VerifyMac(Received(WithAlg(m, "1.2.840.113549.1.5.14", hugeKey)), Secret, new CmpMacPolicy()).Status);
    }

    [Fact]
    public void UnknownAlgorithmsAreUnsupported()
    {
        PkiMessage m = Unprotected();
        byte[] salt = new byte[16];
        Assert.Equal(CmpProtectionKind.Unsupported, CmpProtection.GetKind(WithAlg(m, "1.2.3.4", null)));
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifyMac(Received(WithAlg(m, "1.2.3.4", null)), Secret, new CmpMacPolicy()).Status);
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifyMac(Received(WithAlg(m, "1.2.840.10045.4.3.2", null)), Secret, new CmpMacPolicy()).Status);
        byte[] md5Owf = Sequence([.. Octets(salt), .. AlgId("1.2.840.113549.2.5"), .. Int(1000), .. AlgId("1.2.840.113549.2.9")]);
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifyMac(Received(WithAlg(m, "1.2.840.113533.7.66.13", md5Owf)), Secret, new CmpMacPolicy()).Status);
        byte[] cmacMac = Sequence([.. Octets(salt), .. AlgId("2.16.840.1.101.3.4.2.1"), .. Int(1000), .. AlgId("2.16.840.1.101.3.4.1.2")]);
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifyMac(Received(WithAlg(m, "1.2.840.113533.7.66.13", cmacMac)), Secret, new CmpMacPolicy()).Status);
        byte[] scrypt = Sequence([.. Sequence([.. Oid("1.3.6.1.4.1.11591.4.11"), .. Sequence(Octets(salt))]), .. AlgId("1.2.840.113549.2.9")]);
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifyMac(Received(WithAlg(m, "1.2.840.113549.1.5.14", scrypt)), Secret, new CmpMacPolicy()).Status);
        byte[] otherSource = Sequence([.. Sequence([.. Oid("1.2.840.113549.1.5.12"), .. Sequence([.. AlgId("1.2.3"), .. Int(1000)])]), .. AlgId("1.2.840.113549.2.9")]);
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifyMac(Received(WithAlg(m, "1.2.840.113549.1.5.14", otherSource)), Secret, new CmpMacPolicy()).Status);
    }

    [Fact]
    public void NotProtected()
    {
        PkiMessage m = Unprotected();
        Assert.Equal(CmpProtectionStatus.NotProtected, CmpProtection.VerifyMac(m, Secret, new CmpMacPolicy()).Status);
        PkiMessage algButNoProtection = new() { Header = CmpProtection.ProtectWithMac(m, Secret, CmpMacParameters.PasswordBasedMac()).Header, Body = m.Body };
        Assert.Equal(CmpProtectionStatus.NotProtected, CmpProtection.VerifyMac(Received(algButNoProtection), Secret, new CmpMacPolicy()).Status);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryTruncationAndCorruptionOfTheParametersIsRefusedWithoutException(string kind)
    {
        PkiMessage good = CmpProtection.ProtectWithMac(Unprotected(), Secret, Parameters(kind));
        CmpAlgorithmIdentifier alg = good.Header.ProtectionAlg!;
        byte[] der = alg.Parameters!.Value.ToArray();
        var policy = new CmpMacPolicy();
        byte[] content = der[2..];
        for (int n = 0; n < content.Length; n++)
        {
            // A valid outer TLV around a truncated content (which the codec would refuse): the parameter parser sees the damage.
            CmpProtectionResult r = CmpProtection.VerifyMac(WithAlg(good, alg.Algorithm, Sequence(content.AsSpan(0, n))), Secret, policy);
            Assert.NotEqual(CmpProtectionStatus.Valid, r.Status);
            Assert.NotNull(r.Detail);
        }

        var random = new Random(42);
        for (int i = 0; i < 2000; i++)
        {
            byte[] bad = (byte[])der.Clone();
            bad[random.Next(bad.Length)] = (byte)random.Next(256);
            if (random.Next(3) == 0)
            {
                bad[random.Next(bad.Length)] ^= (byte)(1 << random.Next(8));
            }

            if (bad.AsSpan().SequenceEqual(der))
            {
                continue;
            }

            // Constructed (not decoded) so even non-TLV garbage reaches the verifier.
            CmpProtectionResult r = CmpProtection.VerifyMac(WithAlg(good, alg.Algorithm, bad), Secret, policy);
            Assert.NotEqual(CmpProtectionStatus.Valid, r.Status);
        }

        Assert.Equal(CmpProtectionStatus.Malformed, CmpProtection.VerifyMac(Received(WithAlg(good, alg.Algorithm, null)), Secret, policy).Status);
        Assert.Equal(CmpProtectionStatus.Malformed, CmpProtection.VerifyMac(Received(WithAlg(good, alg.Algorithm, new byte[] { 0x05, 0x00 })), Secret, policy).Status);
        Assert.Equal(CmpProtectionStatus.Malformed, CmpProtection.VerifyMac(Received(WithAlg(good, alg.Algorithm, Sequence([]))), Secret, policy).Status);
        Assert.Equal(CmpProtectionStatus.Malformed, CmpProtection.VerifyMac(WithAlg(good, alg.Algorithm, new byte[] { 0x30, 0x05, 0x04 }), Secret, policy).Status);
        Assert.Equal(CmpProtectionStatus.Malformed, CmpProtection.VerifyMac(WithAlg(good, alg.Algorithm, (byte[])[.. der, 0x00]), Secret, policy).Status);
        Assert.Equal(CmpProtectionStatus.Malformed, CmpProtection.VerifyMac(Received(WithAlg(good, alg.Algorithm, Sequence([.. content, 0x05, 0x00]))), Secret, policy).Status);
    }

    [Fact]
    public void PolicyAndParameterArgumentsAreChecked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CmpMacPolicy { MinIterations = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new CmpMacPolicy { MaxIterations = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new CmpMacPolicy { MinSaltLength = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => CmpMacParameters.PasswordBasedMac(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CmpMacParameters.Pbmac1(-5));
        var p = new CmpMacPolicy();
        Assert.Equal((1000, 100_000, false, 8), (p.MinIterations, p.MaxIterations, p.AllowHmacSha1, p.MinSaltLength));
        CmpMacParameters pbm = CmpMacParameters.PasswordBasedMac();
        Assert.Equal((CmpProtectionKind.PasswordBasedMac, 1000, 16), (pbm.Kind, pbm.Iterations, pbm.SaltLength));
        CmpMacParameters pbmac1 = CmpMacParameters.Pbmac1();
        Assert.Equal((CmpProtectionKind.Pbmac1, 10_000, 16, 32), (pbmac1.Kind, pbmac1.Iterations, pbmac1.SaltLength, pbmac1.KeyLength));
    }

    [Fact]
    public void ProtectedPasswordBasedMacParametersAreTheDocumentedOnes()
    {
        PkiMessage m = CmpProtection.ProtectWithMac(Unprotected(), Secret, CmpMacParameters.PasswordBasedMac(1234));
        Assert.Equal("1.2.840.113533.7.66.13", m.Header.ProtectionAlg!.Algorithm);
        AsnReader seq = new AsnReader(m.Header.ProtectionAlg.Parameters!.Value, AsnEncodingRules.DER).ReadSequence();
        Assert.Equal(16, seq.ReadOctetString().Length);
        Assert.Equal("2.16.840.1.101.3.4.2.1", seq.ReadSequence().ReadObjectIdentifier());
        Assert.Equal(1234, (int)seq.ReadInteger());
        Assert.Equal("1.2.840.113549.2.9", seq.ReadSequence().ReadObjectIdentifier());
        Assert.False(seq.HasData);
    }

    internal static byte[] Octets(ReadOnlySpan<byte> value)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.WriteOctetString(value);
        return w.Encode();
    }

    internal static byte[] Int(long value)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.WriteInteger(value);
        return w.Encode();
    }

    internal static byte[] Oid(string oid)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.WriteObjectIdentifier(oid);
        return w.Encode();
    }

    internal static byte[] AlgId(string oid, bool withNull = false) => Sequence([.. Oid(oid), .. (withNull ? new byte[] { 0x05, 0x00 } : [])]);
}
