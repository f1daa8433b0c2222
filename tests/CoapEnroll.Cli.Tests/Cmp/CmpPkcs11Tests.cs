using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Ca.Pkcs11;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cmp;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// CMP with the issuing CA key on a SoftHSM2 token (Ca:KeyProvider=Pkcs11) while the token's sessions are lost: every request that
/// needs a signature of the CA is refused with a protected error message, rejection with failInfo systemUnavail (RFC 9810 §5.2.3,
/// RFC 9483 §3.6.4), carried as the transport's success (CoAP 2.04, RFC 9482 §2.3; HTTP 200, RFC 9811 §3.1); nothing is issued
/// and no transaction is left open; once the key is back the same requesters enroll.
/// </summary>
[Collection(SoftHsmCollection.Name)]
[Trait("Needs", "openssl")]
public sealed class CmpPkcs11Tests : CmpTestBase
{
    [Fact]
    public async Task LostTokenSessions_AnswerSystemUnavail_OverCoapAndHttp_NothingIssued_ThenServed()
    {
        await using CmpServerHost server = await CmpServerHost.StartOnTokenAsync();
        var key = Assert.IsType<Pkcs11SigningKey>(server.Certification.Hierarchy.IssuingKey);
        Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);
        string coap = $"coap://127.0.0.1:{server.CoapPort}";
        string http = $"http://127.0.0.1:{server.HttpPort}";
        await MustAsync("cmp", "ir", "--server", coap, "--ref", "dev-1", "--secret-env", SecretVariable, "--implicit-confirm",
            "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k1.pem"), "--out", OpenSsl.File("c1.pem"));
        int issued = (await server.CertificatesAsync()).Count;

        // ir over CoAP, MAC-protected: the refusal is MAC-protected too (our client checks it and says when it does not verify).
        key.LoseTokenUntilReleased();
        CliResult ir = await CliRunner.RunAsync("cmp", "ir", "--server", coap, "--ref", "dev-1", "--secret-env", SecretVariable,
            "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k2.pem"), "--out", OpenSsl.File("c2.pem"));
        AssertSystemUnavail(ir);
        await TokenKey.WaitUntilReconnectedAsync(key);

        // cr over HTTP, signed: the refusal is signed by the server's CMP certificate, checked against --trust.
        key.LoseTokenUntilReleased();
        CliResult cr = await CliRunner.RunAsync("cmp", "cr", "--server", http, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("c1.pem"),
            "--key", OpenSsl.File("k1.pem"), "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k3.pem"), "--out", OpenSsl.File("c3.pem"));
        AssertSystemUnavail(cr);
        await TokenKey.WaitUntilReconnectedAsync(key);

        // openssl cmp over HTTP, p10cr with a MAC; it checks the error message's protection (no -unprotected_errors).
        key.LoseTokenUntilReleased();
        string csrKey = await OpenSsl.NewKeyAsync("k4.pem");
        await OpenSsl.MustAsync("req", "-new", "-key", csrKey, "-subj", "/CN=dev-1", "-out", OpenSsl.File("p10.csr"));
        ProcessResult p10cr = await OpenSsl.RunAsync("cmp", "-cmd", "p10cr", "-server", server.HttpServer(), "-ref", "dev-1",
            "-secret", "pass:" + CmpServerHost.Dev1Secret, "-csr", OpenSsl.File("p10.csr"), "-implicit_confirm", "-certout", OpenSsl.File("c4.pem"));
        Assert.NotEqual(0, p10cr.ExitCode);
        Assert.True((p10cr.StandardOutput + p10cr.StandardError).Contains("systemUnavail", StringComparison.Ordinal), p10cr.Describe());
        Assert.False(File.Exists(OpenSsl.File("c4.pem")));

        // Nothing issued, no transaction waiting for a certConf of a certificate that was never sent.
        Assert.Equal(issued, (await server.CertificatesAsync()).Count);
        Assert.Equal(0, (await server.GetCmpAsync()).OpenTransactions);

        // Back: the same request through openssl is served, and the certificate verifies.
        await TokenKey.WaitUntilReconnectedAsync(key);
        await OpenSsl.MustAsync("cmp", "-cmd", "p10cr", "-server", server.HttpServer(), "-ref", "dev-1",
            "-secret", "pass:" + CmpServerHost.Dev1Secret, "-csr", OpenSsl.File("p10.csr"), "-implicit_confirm", "-certout", OpenSsl.File("c4.pem"));
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c4.pem"));
        Assert.Equal(issued + 1, (await server.CertificatesAsync()).Count);
    }

    /// <summary>
    /// With the issuing key on the token, CMP protection signatures are made by that key (Cmp:ProtectionKey unset): openssl cmp
    /// accepts the signed ir answer trusting only the root, whose sender is the issuing CA and whose protection verifies with the
    /// issuing CA's public key and not with the server credential's. While the token is lost, the systemUnavail answer is signed
    /// by the server credential instead, and openssl cmp accepts that protection too (it reports systemUnavail, not a bad signature).
    /// CRL announcements are signed by the issuing key as well.
    /// </summary>
    [Fact]
    public async Task ProtectionSignedByIssuingKeyOnToken_OpenSslAccepts_LostTokenAnswerSignedByServerCredential()
    {
        await using CmpServerHost server = await CmpServerHost.StartOnTokenAsync();
        var key = Assert.IsType<Pkcs11SigningKey>(server.Certification.Hierarchy.IssuingKey);
        X509Certificate2 issuing = server.Certification.Hierarchy.IssuingCa;
        X509Certificate2 credential = server.Certification.ServerCredential.Certificate;
        Assert.Equal(issuing.Thumbprint, (await server.GetCmpAsync()).ProtectionKey.Certificate.Thumbprint);
        using var idevid = OpenSslCmp.Load(server.DemoCertificate);
        string subject = "/" + idevid.SubjectName.Format(false).Replace(", ", "/", StringComparison.Ordinal);
        string newKey = await OpenSsl.NewKeyAsync("k1.pem");
        string[] ir = ["cmp", "-cmd", "ir", "-server", server.HttpServer(), "-trusted", server.TrustAnchor, "-cert", server.DemoCertificate,
            "-key", server.DemoKey, "-newkey", newKey, "-subject", subject, "-implicit_confirm", "-certout", OpenSsl.File("c1.pem")];

        key.LoseTokenUntilReleased();
        ProcessResult lost = await OpenSsl.RunAsync([.. ir, "-rspout", OpenSsl.File("lost.der")]);
        Assert.NotEqual(0, lost.ExitCode);
        Assert.True((lost.StandardOutput + lost.StandardError).Contains("systemUnavail", StringComparison.Ordinal), lost.Describe());
        PkiMessage refusal = Decode(OpenSsl.File("lost.der"));
        Assert.Equal(PkiBodyType.Error, refusal.Body.BodyType);
        AssertSignedBy(refusal, credential, issuing);
        Assert.False(File.Exists(OpenSsl.File("c1.pem")));
        await TokenKey.WaitUntilReconnectedAsync(key);

        await OpenSsl.MustAsync([.. ir, "-rspout", OpenSsl.File("ip.der")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c1.pem"));
        PkiMessage answer = Decode(OpenSsl.File("ip.der"));
        Assert.Equal(PkiBodyType.Ip, answer.Body.BodyType);
        AssertSignedBy(answer, issuing, credential);

        // Announcements are signed the same way.
        CmpAnnouncement crlann = await (await server.GetCmpAsync()).CreateCrlAnnouncementAsync(CancellationToken.None);
        AssertSignedBy(PkiMessageCodec.Decode(crlann.Der.Span).Message!, issuing, credential);
    }

    private static PkiMessage Decode(string path)
    {
        CmpDecodeResult decoded = PkiMessageCodec.Decode(File.ReadAllBytes(path));
        Assert.True(decoded.IsSuccess, decoded.Reason);
        return decoded.Message!;
    }

    /// <summary>Sender and the first of extraCerts name <paramref name="signer"/>; the protection verifies with it and not with <paramref name="other"/>.</summary>
    private static void AssertSignedBy(PkiMessage message, X509Certificate2 signer, X509Certificate2 other)
    {
        Assert.Equal(signer.SubjectName.RawData, message.Header.Sender.DirectoryName!.RawData);
        Assert.Equal(signer.RawData, message.ExtraCerts![0].ToArray());
        Assert.True(CmpProtection.VerifySignature(message, signer).IsValid);
        Assert.False(CmpProtection.VerifySignature(message, other).IsValid);
    }

    private static void AssertSystemUnavail(CliResult result)
    {
        Assert.True(result.ExitCode == ExitCodes.ClientError, result.Describe());
        Assert.Contains("refused: systemUnavail: the CA key is unavailable", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("does not verify", result.Error, StringComparison.Ordinal);
    }

    private static async Task MustAsync(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.Describe());
    }
}
