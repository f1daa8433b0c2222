using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp.Tests.Protection;

/// <summary>Messages protected by an independent implementation, `openssl cmp`, verified with ours.</summary>
public sealed class OpenSslProtectionTests : IClassFixture<OpenSslProtectionTests.Fixture>
{
    private readonly Fixture _f;

    public OpenSslProtectionTests(Fixture f) => _f = f;

    public sealed class Fixture : IDisposable
    {
        public Fixture()
        {
            Ssl.Openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", "p384.key", "-out", "p384.crt", "-subj", "/CN=p384", "-days", "3");
            Ssl.Openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.crt", "-subj", "/CN=rsa", "-days", "3");
        }

        public OpenSslMessages Ssl { get; } = new();

        public void Dispose() => Ssl.Dispose();
    }

    private PkiMessage Request(params string[] args)
    {
        byte[]? der = _f.Ssl.Request("ir", ["-newkey", "ca.key", "-subject", "/CN=x", .. args]);
        Assert.NotNull(der);
        CmpDecodeResult r = PkiMessageCodec.Decode(der);
        Assert.True(r.IsSuccess, r.Reason);
        return r.Message;
    }

    /// <summary>The message's DER with one bit of its senderNonce flipped.</summary>
    private static PkiMessage Tampered(PkiMessage m)
    {
        byte[] der = PkiMessageCodec.Encode(m);
        int at = der.AsSpan().IndexOf(m.Header.SenderNonce!.Value.Span);
        Assert.True(at > 0);
        der[at] ^= 0x01;
        CmpDecodeResult r = PkiMessageCodec.Decode(der);
        Assert.True(r.IsSuccess, r.Reason);
        return r.Message;
    }

    [Fact]
    public void DefaultPasswordBasedMacIsHmacSha1With500Iterations()
    {
        PkiMessage ir = Request("-ref", "1234", "-secret", "pass:s3cr3t");
        Assert.Equal(CmpProtectionKind.PasswordBasedMac, CmpProtection.GetKind(ir));
        Assert.Equal("1234"u8.ToArray(), ir.Header.SenderKid!.Value.ToArray());

        // The defaults refuse it: HMAC-SHA1 first, then the 500 iterations.
        Assert.Equal(CmpProtectionStatus.UnsupportedAlgorithm, CmpProtection.VerifyMac(ir, "s3cr3t"u8, new CmpMacPolicy()).Status);
        Assert.Equal(CmpProtectionStatus.WeakParameters, CmpProtection.VerifyMac(ir, "s3cr3t"u8, new CmpMacPolicy { AllowHmacSha1 = true }).Status);

        var openSslPolicy = new CmpMacPolicy { AllowHmacSha1 = true, MinIterations = 500 };
        CmpProtectionResult r = CmpProtection.VerifyMac(ir, "s3cr3t"u8, openSslPolicy);
        Assert.True(r.IsValid, r.ToString());
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(ir, "s3cr3T"u8, openSslPolicy).Status);
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(Tampered(ir), "s3cr3t"u8, openSslPolicy).Status);
    }

    [Fact]
    public void EveryMessageOfAMockServerExchangeVerifies()
    {
        var (reqs, rsps) = _f.Ssl.Exchange("cr", "-newkey", "ca.key", "-subject", "/CN=dev");
        Assert.Equal(2, reqs.Length);
        Assert.Equal(2, rsps.Length);
        var policy = new CmpMacPolicy { AllowHmacSha1 = true, MinIterations = 500 };
        foreach (byte[] der in reqs.Concat(rsps))
        {
            PkiMessage m = PkiMessageCodec.Decode(der).Message!;
            CmpProtectionResult r = CmpProtection.VerifyMac(m, "sec"u8, policy);
            Assert.True(r.IsValid, $"{m.Body.BodyType}: {r}");
            Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(m, "sed"u8, policy).Status);
        }
    }

    [Fact]
    public void PasswordBasedMacWithHmacSha256()
    {
        PkiMessage ir = Request("-ref", "1234", "-secret", "pass:s3cr3t", "-mac", "hmacWithSHA256");
        CmpProtectionResult r = CmpProtection.VerifyMac(ir, "s3cr3t"u8, new CmpMacPolicy { MinIterations = 500 });
        Assert.True(r.IsValid, r.ToString());
        Assert.Equal(CmpProtectionStatus.WeakParameters, CmpProtection.VerifyMac(ir, "s3cr3t"u8, new CmpMacPolicy()).Status);
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifyMac(ir, "other"u8, new CmpMacPolicy { MinIterations = 500 }).Status);
    }

    [Theory]
    [InlineData("ca", "1.2.840.10045.4.3.2", "")]
    [InlineData("p384", "1.2.840.10045.4.3.3", "sha384")]
    [InlineData("rsa", "1.2.840.113549.1.1.11", "")]
    [InlineData("rsa", "1.2.840.113549.1.1.13", "sha512")]
    public void SignedRequest(string key, string expectedOid, string digest)
    {
        string[] args = ["-cert", $"{key}.crt", "-key", $"{key}.key", .. (digest.Length > 0 ? new[] { "-digest", digest } : [])];
        PkiMessage ir = Request(args);
        Assert.Equal(CmpProtectionKind.Signature, CmpProtection.GetKind(ir));
        Assert.Equal(expectedOid, ir.Header.ProtectionAlg!.Algorithm);
        using X509Certificate2 signer = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_f.Ssl.Dir, $"{key}.crt"));
        if (ir.ExtraCerts is { } extra)
        {
            // OpenSSL 3.0 leaves out a self-signed protection certificate; when present it comes first.
            Assert.Equal(signer.RawData, extra[0].ToArray());
        }

        CmpProtectionResult r = CmpProtection.VerifySignature(ir, signer);
        Assert.True(r.IsValid, r.ToString());
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifySignature(Tampered(ir), signer).Status);
        using X509Certificate2 other = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_f.Ssl.Dir, key == "ca" ? "p384.crt" : "ca.crt"));
        Assert.Equal(CmpProtectionStatus.Invalid, CmpProtection.VerifySignature(ir, other).Status);
    }

    [Fact]
    public void OpenSslMockServerAcceptsOurPasswordBasedMac()
    {
        // Our protection of an openssl request, replayed into openssl's mock server as its request: it checks the MAC.
        // (OpenSSL 3.0's mock server answered a signed request with a corrupted signature too, so it is no check of signatures;
        // our signatures are checked by BouncyCastle instead.)
        PkiMessage ir = Request("-ref", "ref1", "-secret", "pass:sec");
        var unprotected = new PkiMessage { Header = ir.Header, Body = ir.Body };
        byte[] ours = PkiMessageCodec.Encode(CmpProtection.ProtectWithMac(unprotected, "sec"u8, CmpMacParameters.PasswordBasedMac()));
        File.WriteAllBytes(Path.Combine(_f.Ssl.Dir, "ours-mac.der"), ours);
        Assert.True(MockServerAnswers("ours-mac.der", "ours-mac-rsp.der"), "openssl's mock server refused our PasswordBasedMac");

        byte[] corrupt = (byte[])ours.Clone();
        corrupt[^1] ^= 1;
        File.WriteAllBytes(Path.Combine(_f.Ssl.Dir, "bad-mac.der"), corrupt);
        Assert.False(MockServerAnswers("bad-mac.der", "bad-mac-rsp.der"), "openssl's mock server accepted a corrupted MAC");
    }

    /// <summary>Feeds a request file to `openssl cmp -use_mock_srv` and tells whether it answered with an ip (not an error).</summary>
    private bool MockServerAnswers(string request, string response)
    {
        _f.Ssl.Openssl(
        [
            "cmp", "-use_mock_srv", "-srv_ref", "ref1", "-srv_secret", "pass:sec", "-srv_cert", "ca.crt", "-srv_key", "ca.key",
            "-rsp_cert", "ca.crt", "-ref", "ref1", "-secret", "pass:sec", "-cmd", "ir", "-newkey", "ca.key", "-subject", "/CN=x",
            "-reqin", request, "-rspout", response, "-certout", $"{response}.crt", "-unprotected_errors",
        ]);
        string path = Path.Combine(_f.Ssl.Dir, response);
        if (!File.Exists(path))
        {
            return false;
        }

        CmpDecodeResult r = PkiMessageCodec.Decode(File.ReadAllBytes(path));
        return r.IsSuccess && r.Message.Body.BodyType == PkiBodyType.Ip;
    }
}
