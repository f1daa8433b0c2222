using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary><c>openssl cmp</c> (OpenSSL's CMP client, the reference every PKI operator has) against our CMP-over-HTTP endpoint.</summary>
[Trait("Needs", "openssl")]
public sealed class CmpHttpInteropTests : CmpTestBase
{
    [Fact]
    public async Task Ir_WithDemoMac_AndImplicitConfirm_IssuesAVerifiableCertificate()
    {
        await using var server = await CmpServerHost.StartAsync();
        string key = await OpenSsl.NewKeyAsync("k.pem");
        ProcessResult ir = await OpenSsl.MustAsync("cmp", "-cmd", "ir", "-server", server.HttpServer(), "-ref", "demo", "-secret", "pass:" + server.DemoSecret,
            "-newkey", key, "-subject", "/CN=device-17", "-implicit_confirm", "-certout", OpenSsl.File("c.pem"), "-cacertsout", OpenSsl.File("ca.pem"));

        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        using var issued = OpenSslCmp.Load(OpenSsl.File("c.pem"));
        Assert.Equal("CN=device-17", issued.Subject);

        // caPubs (RFC 9483 §4.1.1, MAC-protected ir): the root the device could not otherwise trust.
        using var root = OpenSslCmp.Load(server.TrustAnchor);
        using var caPub = OpenSslCmp.Load(OpenSsl.File("ca.pem"));
        Assert.Equal(root.Thumbprint, caPub.Thumbprint);
        StoredCertificate stored = Assert.Single(await server.CertificatesAsync());
        Assert.Equal(issued.SerialNumber, stored.SerialNumber);
        Assert.Equal(CertificateStatus.Active, stored.Status);
        Assert.Equal(0, (await server.GetCmpAsync()).OpenTransactions);
    }

    [Fact]
    public async Task Ir_WithoutImplicitConfirm_ConfirmsWithCertConf_AndHmacSha256()
    {
        await using var server = await CmpServerHost.StartAsync();
        string key = await OpenSsl.NewKeyAsync("k.pem");
        await OpenSsl.MustAsync("cmp", "-cmd", "ir", "-server", server.HttpServer(), "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret,
            "-mac", "hmacWithSHA256", "-newkey", key, "-subject", "/CN=dev-1", "-certout", OpenSsl.File("c.pem"), "-reqout", OpenSsl.File("ir.der") + "," + OpenSsl.File("certconf.der"));

        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        Assert.True(System.IO.File.Exists(OpenSsl.File("certconf.der")), "openssl sent no certConf");
        StoredCertificate stored = Assert.Single(await server.CertificatesAsync());
        Assert.Equal(CertificateStatus.Active, stored.Status);
        Assert.Equal(0, (await server.GetCmpAsync()).OpenTransactions);
    }

    [Fact]
    public async Task Refusals_BadSecret_UnknownReference_UnboundName_Replay_IssueNothing()
    {
        await using var server = await CmpServerHost.StartAsync();
        string key = await OpenSsl.NewKeyAsync("k.pem");
        string[] common = ["-server", server.HttpServer(), "-newkey", key, "-implicit_confirm", "-unprotected_errors", "-certout", OpenSsl.File("c.pem")];

        ProcessResult wrongSecret = await OpenSsl.RunAsync(["cmp", "-cmd", "ir", .. common, "-ref", "dev-1", "-secret", "pass:not-the-secret", "-subject", "/CN=dev-1"]);
        AssertRefused(wrongSecret, "badMessageCheck");

        ProcessResult unknownReference = await OpenSsl.RunAsync(["cmp", "-cmd", "ir", .. common, "-ref", "nobody", "-secret", "pass:x", "-subject", "/CN=nobody"]);
        AssertRefused(unknownReference, "badMessageCheck");

        // dev-1's secret binds CN=dev-1 (the reference): another name is not its to ask for.
        ProcessResult otherName = await OpenSsl.RunAsync(["cmp", "-cmd", "ir", .. common, "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret, "-subject", "/CN=someone-else"]);
        Assert.NotEqual(0, otherName.ExitCode);
        Assert.Empty(await server.CertificatesAsync());

        await OpenSsl.MustAsync(["cmp", "-cmd", "ir", .. common, "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret, "-subject", "/CN=dev-1",
            "-reqout", OpenSsl.File("ir.der")]);
        Assert.Single(await server.CertificatesAsync());

        // The same message again (same transactionID and nonce): a replay, refused, nothing more issued.
        ProcessResult replay = await OpenSsl.RunAsync(["cmp", "-cmd", "ir", .. common, "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret,
            "-reqin", OpenSsl.File("ir.der")]);
        AssertRefused(replay, "transactionIdInUse");
        Assert.Single(await server.CertificatesAsync());
    }

    [Fact]
    public async Task SignedIr_ThenCr_Kur_Rr_AndTheRevokedCertificateIsRefused()
    {
        await using var server = await CmpServerHost.StartAsync();
        using var idevid = OpenSslCmp.Load(server.DemoCertificate);
        string subject = "/" + idevid.SubjectName.Format(false).Replace(", ", "/", StringComparison.Ordinal);
        string[] trust = ["-server", server.HttpServer(), "-trusted", server.TrustAnchor];

        // ir signed with the manufacturer certificate (IDevID): the answer is signed by the server and verified against our root.
        string k1 = await OpenSsl.NewKeyAsync("k1.pem");
        await OpenSsl.MustAsync(["cmp", "-cmd", "ir", .. trust, "-cert", server.DemoCertificate, "-key", server.DemoKey, "-newkey", k1, "-subject", subject,
            "-certout", OpenSsl.File("c1.pem")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c1.pem"));

        // cr signed with the certificate just issued (a known PKI).
        string k2 = await OpenSsl.NewKeyAsync("k2.pem");
        await OpenSsl.MustAsync(["cmp", "-cmd", "cr", .. trust, "-cert", OpenSsl.File("c1.pem"), "-key", k1, "-newkey", k2, "-subject", subject,
            "-implicit_confirm", "-certout", OpenSsl.File("c2.pem")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c2.pem"));

        IReadOnlyList<StoredCertificate> afterCr = await server.CertificatesAsync();
        Assert.True(afterCr.Count == 2 && afterCr.All(c => c.Status == CertificateStatus.Active),
            string.Join("; ", afterCr.Select(c => $"{c.SerialNumber} {c.Subject} {c.Status} replaces {c.ReplacesSerialNumber}")));

        // A kur signed with the second certificate whose oldCertID (-oldcert) names the first: badCertId, nothing issued.
        string k3 = await OpenSsl.NewKeyAsync("k3.pem");
        ProcessResult otherOld = await OpenSsl.RunAsync(["cmp", "-cmd", "kur", .. trust, "-cert", OpenSsl.File("c2.pem"), "-key", k2, "-oldcert", OpenSsl.File("c1.pem"),
            "-newkey", k3, "-certout", OpenSsl.File("c3.pem")]);
        AssertRefused(otherOld, "badCertId");
        Assert.Equal(2, (await server.CertificatesAsync()).Count);

        // kur of the second: a new key, the old certificate superseded.
        await OpenSsl.MustAsync(["cmp", "-cmd", "kur", .. trust, "-cert", OpenSsl.File("c2.pem"), "-key", k2, "-newkey", k3, "-certout", OpenSsl.File("c3.pem")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c3.pem"));
        using var c2 = OpenSslCmp.Load(OpenSsl.File("c2.pem"));
        using var c3 = OpenSslCmp.Load(OpenSsl.File("c3.pem"));
        IReadOnlyList<StoredCertificate> all = await server.CertificatesAsync();
        Assert.Equal(CertificateStatus.Superseded, all.Single(c => c.SerialNumber == c2.SerialNumber).Status);
        Assert.Equal(c2.Subject, c3.Subject);

        // rr by the holder, keyCompromise; then the CRL lists it and openssl verify refuses it.
        await OpenSsl.MustAsync(["cmp", "-cmd", "rr", .. trust, "-cert", OpenSsl.File("c3.pem"), "-key", k3, "-oldcert", OpenSsl.File("c3.pem"), "-revreason", "1"]);
        Assert.Equal(CertificateStatus.Revoked, (await server.CertificatesAsync()).Single(c => c.SerialNumber == c3.SerialNumber).Status);

        // A request signed with the revoked certificate: certRevoked, nothing issued.
        string k4 = await OpenSsl.NewKeyAsync("k4.pem");
        int before = (await server.CertificatesAsync()).Count;
        ProcessResult revoked = await OpenSsl.RunAsync(["cmp", "-cmd", "kur", .. trust, "-cert", OpenSsl.File("c3.pem"), "-key", k3, "-newkey", k4,
            "-unprotected_errors", "-certout", OpenSsl.File("c4.pem")]);
        AssertRefused(revoked, "certRevoked");
        Assert.Equal(before, (await server.CertificatesAsync()).Count);

        // The CRL the CA publishes (genm crlStatusList is OpenSSL 3.2+; the store's CRL is what genm serves, see the unit tests).
        var crl = await server.Certification.Authority.GetCrlAsync(CancellationToken.None);
        await System.IO.File.WriteAllBytesAsync(OpenSsl.File("crl.der"), crl.Der.ToArray());
        ProcessResult crlText = await OpenSsl.MustAsync("crl", "-inform", "DER", "-in", OpenSsl.File("crl.der"), "-noout", "-text", "-CAfile", server.IssuingCa);
        Assert.Contains(c3.SerialNumber, crlText.StandardOutput.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant(), StringComparison.Ordinal);
        Assert.Contains("Key Compromise", crlText.StandardOutput + crlText.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Recipient_TheIssuingCaIsAccepted_AnotherAuthorityIsWrongAuthority()
    {
        await using var server = await CmpServerHost.StartAsync();
        using var issuing = OpenSslCmp.Load(server.IssuingCa);
        string issuer = "/" + string.Join("/", issuing.SubjectName.Format(true).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Reverse());
        string key = await OpenSsl.NewKeyAsync("k.pem");
        string[] mac = ["-server", server.HttpServer(), "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret, "-newkey", key, "-subject", "/CN=dev-1",
            "-implicit_confirm", "-certout", OpenSsl.File("c.pem")];

        // openssl cmp -recipient: the answer is MAC-protected, so openssl checks it and reports the failInfo without -unprotected_errors.
        ProcessResult foreign = await OpenSsl.RunAsync(["cmp", "-cmd", "ir", .. mac, "-recipient", "/O=Elsewhere/CN=Some Other CA"]);
        AssertRefused(foreign, "wrongAuthority");
        Assert.Empty(await server.CertificatesAsync());

        await OpenSsl.MustAsync(["cmp", "-cmd", "ir", .. mac, "-recipient", issuer, "-reqout", OpenSsl.File("ir.der")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        CoapEnroll.Cmp.PkiMessage sent = CoapEnroll.Cmp.PkiMessageCodec.Decode(await System.IO.File.ReadAllBytesAsync(OpenSsl.File("ir.der"))).Message!;

        // openssl spells the name as UTF8Strings where the certificate has PrintableStrings: the same name all the same.
        Assert.Equal(DistinguishedNames.Key(issuing.SubjectName), DistinguishedNames.Key(sent.Header.Recipient.DirectoryName!));
        Assert.Single(await server.CertificatesAsync());
    }

    [Fact]
    public async Task P10cr_WithMac_IssuesTheCsrsName()
    {
        await using var server = await CmpServerHost.StartAsync();
        string key = await OpenSsl.NewKeyAsync("k.pem");
        await OpenSsl.MustAsync("req", "-new", "-key", key, "-subj", "/CN=dev-1", "-out", OpenSsl.File("csr.pem"));
        await OpenSsl.MustAsync("cmp", "-cmd", "p10cr", "-server", server.HttpServer("/.well-known/cmp/pkcs10"), "-ref", "dev-1",
            "-secret", "pass:" + CmpServerHost.Dev1Secret, "-csr", OpenSsl.File("csr.pem"), "-implicit_confirm", "-certout", OpenSsl.File("c.pem"));
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        using var issued = OpenSslCmp.Load(OpenSsl.File("c.pem"));
        Assert.Equal("CN=dev-1", issued.Subject);
    }

    [Fact]
    public async Task HeldForApproval_OpensslPolls_UntilTheOperatorApproves()
    {
        await using var server = await CmpServerHost.StartAsync();
        string key = await OpenSsl.NewKeyAsync("k.pem");
        Task<ProcessResult> polling = OpenSsl.RunAsync("cmp", "-cmd", "ir", "-server", server.HttpServer("/.well-known/cmp/p/manual"), "-ref", "manual",
            "-secret", "pass:" + CmpServerHost.ManualSecret, "-newkey", key, "-subject", "/CN=held-1", "-certout", OpenSsl.File("c.pem"), "-total_timeout", "60");

        await server.ApprovePendingAsync(polling, "CN=held-1");

        ProcessResult result = await polling;
        Assert.True(result.ExitCode == 0, result.Describe());
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        Assert.Equal("CN=held-1", OpenSslCmp.Load(OpenSsl.File("c.pem")).Subject);
    }

    [Fact]
    public async Task UnofferedInfoType_AndTransportRefusals()
    {
        await using var server = await CmpServerHost.StartAsync();

        // An infoType this server does not offer is an error with badRequest, protected with the requester's secret.
        ProcessResult genm = await OpenSsl.RunAsync("cmp", "-cmd", "genm", "-server", server.HttpServer(), "-ref", "demo", "-secret", "pass:" + server.DemoSecret,
            "-infotype", "signKeyPairTypes", "-unprotected_errors");
        AssertRefused(genm, "badRequest");

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        using var junk = new ByteArrayContent([0x30, 0x03, 0x02, 0x01, 0x02]);
        junk.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/pkixcmp");
        HttpResponseMessage malformed = await http.PostAsync("/.well-known/cmp", junk);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, malformed.StatusCode);

        using var text = new StringContent("hello");
        Assert.Equal(System.Net.HttpStatusCode.UnsupportedMediaType, (await http.PostAsync("/.well-known/cmp", text)).StatusCode);

        // Over the limit: refused from Content-Length, before the body is read (curl, as an independent HTTP client).
        await System.IO.File.WriteAllBytesAsync(OpenSsl.File("big.der"), new byte[70_000]);
        ProcessResult big = await ExternalProcess.RunAsync(RequiredTool.Find("curl", "curl"), ["-sS", "-o", "/dev/null", "-w", "%{http_code}",
            "-H", "Content-Type: application/pkixcmp", "--data-binary", "@" + OpenSsl.File("big.der"), $"http://127.0.0.1:{server.HttpPort}/.well-known/cmp"],
            TimeSpan.FromSeconds(30));
        Assert.True(big.StandardOutput.Trim() == "413", big.Describe());

        using var unknownLabel = new ByteArrayContent([0x30, 0x00]);
        unknownLabel.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/pkixcmp");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.PostAsync("/.well-known/cmp/p/no-such-profile", unknownLabel)).StatusCode);
    }

    private static void AssertRefused(ProcessResult result, string failInfo)
    {
        Assert.NotEqual(0, result.ExitCode);
        Assert.True((result.StandardOutput + result.StandardError).Contains(failInfo, StringComparison.OrdinalIgnoreCase), result.Describe());
    }

}
