using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// EST over HTTPS (RFC 7030, RFC 8951) driven by <c>curl</c> with TLS client certificates, every answer checked with OpenSSL:
/// each operation, the refusals with their HTTP statuses, HTTP Basic authentication and approval with 202 + Retry-After.
/// </summary>
[Trait("Needs", "openssl")]
public sealed class EstHttpsCurlTests
{
    [Fact]
    public async Task EveryOperation_WithCurl_CheckedWithOpenSsl()
    {
        await using var est = await EstHttpsHost.StartAsync();

        // /cacerts without a client certificate (RFC 7030 §4.1.1): the root and the issuing CA.
        CurlAnswer cacerts = await est.CurlAsync("cacerts", "cacerts");
        Assert.True(cacerts.Status == 200, cacerts.Describe());
        Assert.StartsWith("application/pkcs7-mime; smime-type=certs-only", cacerts.Header("Content-Type"), StringComparison.Ordinal);
        (_, string caText) = await est.PrintCertsAsync(est.DecodeBase64(cacerts.BodyFile, "cacerts.der"), "cacerts");
        Assert.Contains("subject=CN = CoapEnroll Demo Root CA", caText, StringComparison.Ordinal);
        Assert.Contains("subject=CN = CoapEnroll Demo Issuing CA", caText, StringComparison.Ordinal);

        // /csrattrs: DER CsrAttrs that openssl reads, naming challengePassword and P-256.
        CurlAnswer attrs = await est.CurlAsync("attrs", "csrattrs");
        Assert.True(attrs.Status == 200, attrs.Describe());
        Assert.Equal("application/csrattrs", attrs.Header("Content-Type"));
        ProcessResult asn1 = await est.MustOpenSslAsync("asn1parse", "-inform", "DER", "-in", est.DecodeBase64(attrs.BodyFile, "attrs.der"));
        Assert.Contains(":challengePassword", asn1.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(":prime256v1", asn1.StandardOutput, StringComparison.Ordinal);

        // /simpleenroll with the demo IDevID and an openssl req CSR (base64 with line breaks).
        string csr = await est.NewCsrAsync("dev", "/CN=demo-device-1");
        CurlAnswer enroll = await est.PostCsrAsync("enroll", "simpleenroll", csr, est.DemoCertificate, est.DemoKey);
        Assert.True(enroll.Status == 200, enroll.Describe());
        Assert.StartsWith("application/pkcs7-mime; smime-type=certs-only", enroll.Header("Content-Type"), StringComparison.Ordinal);
        (string issuedPem, _) = await est.PrintCertsAsync(est.DecodeBase64(enroll.BodyFile, "enroll.der"), "issued");
        await est.VerifyAsync(issuedPem);
        using (X509Certificate2 issued = X509Certificate2.CreateFromPem(File.ReadAllText(issuedPem)))
        {
            Assert.Equal("CN=demo-device-1", issued.Subject);
        }

        // /simplereenroll, authenticated by the certificate just issued, for the same subject and a new key.
        string csr2 = await est.NewCsrAsync("dev2", "/CN=demo-device-1");
        CurlAnswer reenroll = await est.PostCsrAsync("reenroll", "simplereenroll", csr2, issuedPem, est.File("dev.key"));
        Assert.True(reenroll.Status == 200, reenroll.Describe());
        (string renewedPem, _) = await est.PrintCertsAsync(est.DecodeBase64(reenroll.BodyFile, "reenroll.der"), "renewed");
        await est.VerifyAsync(renewedPem);

        // The same /simplereenroll again, as after a lost answer, with the certificate it superseded: the same certificate, nothing
        // stored; anything else that certificate asks for is 403.
        CurlAnswer repeated = await est.PostCsrAsync("repeated", "simplereenroll", csr2, issuedPem, est.File("dev.key"));
        Assert.True(repeated.Status == 200, repeated.Describe());
        (string repeatedPem, _) = await est.PrintCertsAsync(est.DecodeBase64(repeated.BodyFile, "repeated.der"), "repeated");
        Assert.Equal(await File.ReadAllTextAsync(renewedPem), await File.ReadAllTextAsync(repeatedPem));
        string csr3 = await est.NewCsrAsync("dev3", "/CN=demo-device-1");
        CurlAnswer second = await est.PostCsrAsync("second", "simplereenroll", csr3, issuedPem, est.File("dev.key"));
        Assert.True(second.Status == 403, second.Describe());
        CurlAnswer enrollSuperseded = await est.PostCsrAsync("enroll-superseded", "simpleenroll", csr3, issuedPem, est.File("dev.key"));
        Assert.True(enrollSuperseded.Status == 403, enrollSuperseded.Describe());

        // /serverkeygen: multipart/mixed with the PKCS#8 key, then the certificate; the key is the certificate's.
        CurlAnswer keygen = await est.PostCsrAsync("keygen", "serverkeygen", csr, est.DemoCertificate, est.DemoKey);
        Assert.True(keygen.Status == 200, keygen.Describe());
        IReadOnlyList<(string ContentType, byte[] Der)> parts = ParseMultipart(keygen);
        Assert.Equal(2, parts.Count);
        Assert.Equal("application/pkcs8", parts[0].ContentType);
        Assert.StartsWith("application/pkcs7-mime; smime-type=certs-only", parts[1].ContentType, StringComparison.Ordinal);
        await File.WriteAllBytesAsync(est.File("generated.p8"), parts[0].Der);
        await File.WriteAllBytesAsync(est.File("generated.p7"), parts[1].Der);
        (string generatedPem, _) = await est.PrintCertsAsync(est.File("generated.p7"), "generated");
        await est.VerifyAsync(generatedPem);
        ProcessResult keyPublic = await est.MustOpenSslAsync("pkey", "-inform", "DER", "-in", est.File("generated.p8"), "-pubout");
        ProcessResult certificatePublic = await est.MustOpenSslAsync("x509", "-in", generatedPem, "-pubkey", "-noout");
        Assert.Equal(certificatePublic.StandardOutput.Trim(), keyPublic.StandardOutput.Trim());

        // Recorded as EST over HTTPS, with the operation names of RFC 7030.
        IReadOnlyList<StoredRequest> requests = await est.Store.ListRequestsAsync(null, 100, CancellationToken.None);
        Assert.Equal(3, requests.Count);
        Assert.All(requests, r => Assert.Equal("est-https", r.Protocol));
    }

    [Fact]
    public async Task Refusals_HaveTheRfcStatuses_AndATextReason()
    {
        await using var est = await EstHttpsHost.StartAsync();
        string csr = await est.NewCsrAsync("dev", "/CN=demo-device-1");

        // No client certificate, and the profile takes no HTTP authentication: nothing to ask for (a 401 would need a challenge).
        CurlAnswer anonymous = await est.PostCsrAsync("anonymous", "simpleenroll", csr, null, null);
        Assert.True(anonymous.Status == 403, anonymous.Describe());
        Assert.Contains("needs a TLS client certificate", anonymous.Body, StringComparison.Ordinal);
        Assert.Null(anonymous.Header("WWW-Authenticate"));

        // A certificate from a CA nobody trusts: accepted by TLS, refused by the enrollment core.
        using var stranger = new TestPki("Nobody's CA");
        (string strangerCert, string strangerKey) = stranger.Issue("stranger", "demo-device-1");
        CurlAnswer untrusted = await est.PostCsrAsync("untrusted", "simpleenroll", csr, strangerCert, strangerKey);
        Assert.True(untrusted.Status == 403, untrusted.Describe());
        Assert.Contains("does not chain to this CA", untrusted.Body, StringComparison.Ordinal);

        CurlAnswer wrongType = await est.CurlAsync("type", "simpleenroll", "--cert", est.DemoCertificate, "--key", est.DemoKey,
            "-H", "Content-Type: application/octet-stream", "--data-binary", "@" + csr);
        Assert.True(wrongType.Status == 415, wrongType.Describe());

        await File.WriteAllTextAsync(est.File("garbage.b64"), "this is not base64 at all!");
        CurlAnswer garbage = await est.PostCsrAsync("garbage", "simpleenroll", est.File("garbage.b64"), est.DemoCertificate, est.DemoKey);
        Assert.True(garbage.Status == 400, garbage.Describe());
        Assert.Contains("not base64", garbage.Body, StringComparison.Ordinal);

        await File.WriteAllTextAsync(est.File("notcsr.b64"), Convert.ToBase64String(Encoding.ASCII.GetBytes("definitely not DER")));
        CurlAnswer notCsr = await est.PostCsrAsync("notcsr", "simpleenroll", est.File("notcsr.b64"), est.DemoCertificate, est.DemoKey);
        Assert.True(notCsr.Status == 400, notCsr.Describe());
        Assert.Contains("PKCS#10", notCsr.Body, StringComparison.Ordinal);

        await File.WriteAllTextAsync(est.File("huge.b64"), Convert.ToBase64String(new byte[40_000]));
        CurlAnswer huge = await est.PostCsrAsync("huge", "simpleenroll", est.File("huge.b64"), est.DemoCertificate, est.DemoKey);
        Assert.True(huge.Status == 413, huge.Describe());

        // Who asks is decided before the body: the same oversized body without a client certificate is refused for that.
        CurlAnswer hugeAnonymous = await est.PostCsrAsync("huge-anonymous", "simpleenroll", est.File("huge.b64"), null, null);
        Assert.True(hugeAnonymous.Status == 403, hugeAnonymous.Describe());

        CurlAnswer unknownLabel = await est.PostCsrAsync("label", "nosuchlabel/simpleenroll", csr, est.DemoCertificate, est.DemoKey);
        Assert.True(unknownLabel.Status == 404, unknownLabel.Describe());
        CurlAnswer unknownLabelCacerts = await est.CurlAsync("label2", "nosuchlabel/cacerts");
        Assert.True(unknownLabelCacerts.Status == 404, unknownLabelCacerts.Describe());

        // Re-enrollment needs a certificate of this CA, not a manufacturer's.
        CurlAnswer reenroll = await est.PostCsrAsync("reenroll", "simplereenroll", csr, est.DemoCertificate, est.DemoKey);
        Assert.True(reenroll.Status == 403, reenroll.Describe());

        // A name the requester's certificate does not carry.
        string other = await est.NewCsrAsync("other", "/CN=someone-else");
        CurlAnswer unbound = await est.PostCsrAsync("unbound", "simpleenroll", other, est.DemoCertificate, est.DemoKey);
        Assert.True(unbound.Status == 403, unbound.Describe());

        // EST is on https:// only: plain http:// has no EST paths.
        ProcessResult plain = await ExternalProcess.RunAsync(RequiredTool.Find("curl", "curl"),
            ["-sS", "-o", "/dev/null", "-w", "%{http_code}", $"http://127.0.0.1:{est.HttpPort}/.well-known/est/cacerts"], TimeSpan.FromSeconds(20));
        Assert.Equal("404", plain.StandardOutput.Trim());

        Assert.Empty(await est.Store.ListCertificatesAsync(100, CancellationToken.None));
    }

    [Fact]
    public async Task BasicAuthentication_PerProfile_Accepted_AndRequired()
    {
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2("hashed-pass-51"u8, salt, 10_000, HashAlgorithmName.SHA256, 32);
        await using var est = await EstHttpsHost.StartAsync(new Dictionary<string, string?>
        {
            ["Est:BasicAuthentication:default"] = "Accepted",
            ["Est:BasicAuthentication:strict"] = "Required",
            ["Ca:Profiles:strict:RequiresApproval"] = "false",
            ["Est:BasicUsers:plain-user:Password"] = "plain-pass-77",
            ["Est:BasicUsers:hashed-user:PasswordHash"] = $"pbkdf2-sha256${10_000}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}",
            ["Est:BasicUsers:strict-user:Password"] = "strict-pass-31",
            ["Est:BasicUsers:strict-user:Profile"] = "strict",
            ["Est:BasicUsers:strict-user:AnyName"] = "true",
        });
        string plainCsr = await est.NewCsrAsync("plain", "/CN=plain-user");

        // No client certificate, no credentials: 401 with the Basic challenge (RFC 7030 §3.2.3).
        CurlAnswer missing = await est.PostCsrAsync("missing", "simpleenroll", plainCsr, null, null);
        Assert.True(missing.Status == 401, missing.Describe());
        Assert.Equal("Basic realm=\"coapenroll EST\", charset=\"UTF-8\"", missing.Header("WWW-Authenticate"));

        CurlAnswer wrong = await est.PostCsrAsync("wrong", "simpleenroll", plainCsr, null, null, "-u", "plain-user:not-the-password");
        Assert.True(wrong.Status == 401, wrong.Describe());
        Assert.Contains("wrong user name or password", wrong.Body, StringComparison.Ordinal);
        CurlAnswer nobody = await est.PostCsrAsync("nobody", "simpleenroll", plainCsr, null, null, "-u", "nobody:plain-pass-77");
        Assert.True(nobody.Status == 401, nobody.Describe());

        // Right password: the user enrolls for its own name (CN = user name), not another.
        CurlAnswer plain = await est.PostCsrAsync("plain-ok", "simpleenroll", plainCsr, null, null, "-u", "plain-user:plain-pass-77");
        Assert.True(plain.Status == 200, plain.Describe());
        (string plainPem, _) = await est.PrintCertsAsync(est.DecodeBase64(plain.BodyFile, "plain.der"), "plain-cert");
        await est.VerifyAsync(plainPem);
        CurlAnswer notTheirs = await est.PostCsrAsync("not-theirs", "simpleenroll", await est.NewCsrAsync("x", "/CN=somebody"), null, null,
            "-u", "plain-user:plain-pass-77");
        Assert.True(notTheirs.Status == 403, notTheirs.Describe());

        CurlAnswer hashed = await est.PostCsrAsync("hashed", "simpleenroll", await est.NewCsrAsync("h", "/CN=hashed-user"), null, null,
            "-u", "hashed-user:hashed-pass-51");
        Assert.True(hashed.Status == 200, hashed.Describe());

        // The client certificate still authenticates under "Accepted".
        CurlAnswer byCertificate = await est.PostCsrAsync("cert", "simpleenroll", await est.NewCsrAsync("d", "/CN=demo-device-1"), est.DemoCertificate, est.DemoKey);
        Assert.True(byCertificate.Status == 200, byCertificate.Describe());

        // "Required": a trusted client certificate is not enough; the user granted only this profile gets any name there.
        string strictCsr = await est.NewCsrAsync("strict", "/CN=any-name-9");
        CurlAnswer certificateOnly = await est.PostCsrAsync("strict-cert", "strict/simpleenroll", strictCsr, est.DemoCertificate, est.DemoKey);
        Assert.True(certificateOnly.Status == 401, certificateOnly.Describe());
        Assert.NotNull(certificateOnly.Header("WWW-Authenticate"));
        CurlAnswer strict = await est.PostCsrAsync("strict-ok", "strict/simpleenroll", strictCsr, est.DemoCertificate, est.DemoKey, "-u", "strict-user:strict-pass-31");
        Assert.True(strict.Status == 200, strict.Describe());
        CurlAnswer otherProfile = await est.PostCsrAsync("strict-default", "simpleenroll", strictCsr, null, null, "-u", "strict-user:strict-pass-31");
        Assert.True(otherProfile.Status == 403, otherProfile.Describe());

        Assert.Equal(4, (await est.Store.ListCertificatesAsync(100, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task BasicAuthentication_WrongPasswords_AreLimitedPerAddress_BeforeAnyPasswordCheck()
    {
        // Every wrong password costs the server a PBKDF2 of the stored iterations; past the address's limit it costs nothing.
        await using var est = await EstHttpsHost.StartAsync(new Dictionary<string, string?>
        {
            ["Est:BasicAuthentication:default"] = "Accepted",
            ["Est:BasicUsers:plain-user:Password"] = "plain-pass-77",
            ["Est:MaxFailedBasicLoginsPerAddress"] = "2",
        });
        string csr = await est.NewCsrAsync("plain", "/CN=plain-user");
        CurlAnswer wrong = await est.PostCsrAsync("wrong-0", "simpleenroll", csr, null, null, "-u", "other-user:guess-0");
        Assert.True(wrong.Status == 401, wrong.Describe());

        // A valid password in between does not reset the address's count: one device's password must not buy guesses at others.
        CurlAnswer valid = await est.PostCsrAsync("valid", "simpleenroll", csr, null, null, "-u", "plain-user:plain-pass-77");
        Assert.True(valid.Status == 200, valid.Describe());
        wrong = await est.PostCsrAsync("wrong-1", "simpleenroll", csr, null, null, "-u", "other-user:guess-1");
        Assert.True(wrong.Status == 401, wrong.Describe());

        CurlAnswer limited = await est.PostCsrAsync("limited", "simpleenroll", csr, null, null, "-u", "plain-user:plain-pass-77");
        Assert.True(limited.Status == 429, limited.Describe());
        Assert.Contains("too many wrong HTTP Basic passwords from this address", limited.Body, StringComparison.Ordinal);
        Assert.InRange(int.Parse(limited.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture), 1, 300);

        // A device with a client certificate sends no password and is not held up.
        CurlAnswer byCertificate = await est.PostCsrAsync("cert", "simpleenroll", await est.NewCsrAsync("d", "/CN=demo-device-1"), est.DemoCertificate, est.DemoKey);
        Assert.True(byCertificate.Status == 200, byCertificate.Describe());
        Assert.Equal(2, (await est.Store.ListCertificatesAsync(100, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task HeldForApproval_202WithRetryAfter_ThenTheSameRequestGetsTheCertificate()
    {
        await using var est = await EstHttpsHost.StartAsync();
        string csr = await est.NewCsrAsync("held", "/CN=held-device");

        CurlAnswer first = await est.PostCsrAsync("first", "manual/simpleenroll", csr, est.DemoCertificate, est.DemoKey);
        Assert.True(first.Status == 202, first.Describe());
        Assert.Equal("1", first.Header("Retry-After"));
        Assert.Contains("waiting for approval", first.Body, StringComparison.Ordinal);

        CurlAnswer again = await est.PostCsrAsync("again", "manual/simpleenroll", csr, est.DemoCertificate, est.DemoKey);
        Assert.True(again.Status == 202, again.Describe());

        await est.ApprovePendingAsync();
        CurlAnswer approved = await est.PostCsrAsync("approved", "manual/simpleenroll", csr, est.DemoCertificate, est.DemoKey);
        Assert.True(approved.Status == 200, approved.Describe());
        (string pem, _) = await est.PrintCertsAsync(est.DecodeBase64(approved.BodyFile, "approved.der"), "approved");
        await est.VerifyAsync(pem);
        using X509Certificate2 issued = X509Certificate2.CreateFromPem(File.ReadAllText(pem));
        Assert.Equal("CN=held-device", issued.Subject);
    }

    [Fact]
    public async Task ServerKeyGen_EncryptedToTheDevicesKeyAgreementCertificate_OpensWithOpenSslCms()
    {
        await using var est = await EstHttpsHost.StartAsync(new Dictionary<string, string?> { ["Ca:Profiles:kex:KeyUsage:0"] = "KeyAgreement" });

        // A key agreement certificate for the demo device (label kex), its key made by openssl.
        string kexKey = est.File("kex.key");
        await est.MustOpenSslAsync("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", kexKey);
        using X509Certificate2 device = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(est.DemoCertificate));
        using var kexEc = ECDsa.Create();
        kexEc.ImportFromPem(await File.ReadAllTextAsync(kexKey));
        await File.WriteAllTextAsync(est.File("kex.b64"), Convert.ToBase64String(new CertificateRequest(device.SubjectName, kexEc, HashAlgorithmName.SHA256).CreateSigningRequest()));
        CurlAnswer kex = await est.PostCsrAsync("kex", "kex/simpleenroll", est.File("kex.b64"), est.DemoCertificate, est.DemoKey);
        Assert.True(kex.Status == 200, kex.Describe());
        (string kexPem, _) = await est.PrintCertsAsync(est.DecodeBase64(kex.BodyFile, "kex.der"), "kex-cert");

        // serverkeygen naming it (AsymmetricDecryptKeyIdentifier, SMIMECapabilities): the key part is the EnvelopedData.
        using var throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=demo-device-1", throwaway, HashAlgorithmName.SHA256);
        CoapEnroll.Est.EstCoapsClient.AddEncryptionRequest(request, X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(kexPem)));
        await File.WriteAllTextAsync(est.File("sealed.b64"), Convert.ToBase64String(request.CreateSigningRequest()));
        CurlAnswer sealedAnswer = await est.PostCsrAsync("sealed", "serverkeygen", est.File("sealed.b64"), est.DemoCertificate, est.DemoKey);
        Assert.True(sealedAnswer.Status == 200, sealedAnswer.Describe());
        List<(string ContentType, byte[] Der)> parts = ParseMultipart(sealedAnswer);
        Assert.Equal("application/pkcs7-mime; smime-type=server-generated-key", parts[0].ContentType);
        await File.WriteAllBytesAsync(est.File("sealed.p7m"), parts[0].Der);
        await File.WriteAllBytesAsync(est.File("sealed.p7"), parts[1].Der);

        // openssl opens it with the key agreement key and verifies the server's signature against the root.
        await est.MustOpenSslAsync("cms", "-decrypt", "-inform", "DER", "-in", est.File("sealed.p7m"), "-recip", kexPem, "-inkey", kexKey, "-binary",
            "-out", est.File("sealed.signed"));
        await est.MustOpenSslAsync("cms", "-verify", "-inform", "DER", "-in", est.File("sealed.signed"), "-CAfile", est.TrustAnchor, "-purpose", "any", "-binary",
            "-out", est.File("sealed.package"));
        var package = new System.Formats.Asn1.AsnReader(await File.ReadAllBytesAsync(est.File("sealed.package")), System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
        await File.WriteAllBytesAsync(est.File("sealed.key.der"), package.ReadEncodedValue().ToArray());
        (string sealedPem, _) = await est.PrintCertsAsync(est.File("sealed.p7"), "sealed-cert");
        await est.VerifyAsync(sealedPem);
        ProcessResult keyPublic = await est.MustOpenSslAsync("pkey", "-inform", "DER", "-in", est.File("sealed.key.der"), "-pubout");
        ProcessResult certificatePublic = await est.MustOpenSslAsync("x509", "-in", sealedPem, "-pubkey", "-noout");
        Assert.Equal(certificatePublic.StandardOutput.Trim(), keyPublic.StandardOutput.Trim());
    }

    /// <summary>The parts of a multipart/mixed answer (RFC 2046 §5.1), each base64-decoded.</summary>
    private static List<(string ContentType, byte[] Der)> ParseMultipart(CurlAnswer answer)
    {
        string contentType = answer.Header("Content-Type") ?? "";
        Assert.StartsWith("multipart/mixed; boundary=", contentType, StringComparison.Ordinal);
        string boundary = contentType["multipart/mixed; boundary=".Length..].Trim('"');
        var parts = new List<(string, byte[])>();
        foreach (string part in answer.Body.Split("--" + boundary).Skip(1))
        {
            if (part.StartsWith("--", StringComparison.Ordinal))
            {
                break;
            }

            int blank = part.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            string[] headers = part[..blank].Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            string type = headers.Single(h => h.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase))["Content-Type:".Length..].Trim();
            parts.Add((type, Convert.FromBase64String(part[(blank + 4)..])));
        }

        return parts;
    }
}
