using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// <c>openssl cmp -tls_used</c> against our https:// listener: the server presents its credential (checked by OpenSSL against the demo
/// root), and a TLS client certificate, trusted or not, plays no part, since CMP messages protect themselves (RFC 9811 §3.6).
/// </summary>
[Trait("Needs", "openssl")]
public sealed class CmpHttpsInteropTests : CmpTestBase
{
    [Fact]
    public async Task Ir_WithMac_OverTls_IssuesAVerifiableCertificate_RecordedAsCmpHttps()
    {
        await using var server = await CmpServerHost.StartAsync();
        string key = await OpenSsl.NewKeyAsync("k.pem");
        await OpenSsl.MustAsync("cmp", "-cmd", "ir", "-tls_used", "-tls_trusted", server.TrustAnchor, "-server", server.HttpsServer(),
            "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret, "-newkey", key, "-subject", "/CN=dev-1", "-implicit_confirm",
            "-certout", OpenSsl.File("c.pem"));

        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        using var issued = OpenSslCmp.Load(OpenSsl.File("c.pem"));
        Assert.Equal("CN=dev-1", issued.Subject);
        StoredRequest request = Assert.Single(await server.Certification.Store.ListRequestsAsync(null, 100, CancellationToken.None));
        Assert.Equal("cmp-https", request.Protocol);
    }

    [Fact]
    public async Task SignedIr_ThenKur_OverTls_WithAnUntrustedTlsClientCertificate()
    {
        await using var server = await CmpServerHost.StartAsync();
        using var stranger = new TestPki("Nobody's CA");
        (string tlsCert, string tlsKey) = stranger.Issue("tls-client", "some-tls-client");
        string[] tls = ["-tls_used", "-tls_trusted", server.TrustAnchor, "-tls_cert", tlsCert, "-tls_key", tlsKey, "-server", server.HttpsServer(),
            "-trusted", server.TrustAnchor];
        string k1 = await OpenSsl.NewKeyAsync("k1.pem");
        string k2 = await OpenSsl.NewKeyAsync("k2.pem");
        string subject = "/CN=demo-device-1";

        await OpenSsl.MustAsync(["cmp", "-cmd", "ir", .. tls, "-cert", server.DemoCertificate, "-key", server.DemoKey, "-newkey", k1, "-subject", subject,
            "-certout", OpenSsl.File("c1.pem")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c1.pem"));

        await OpenSsl.MustAsync(["cmp", "-cmd", "kur", .. tls, "-cert", OpenSsl.File("c1.pem"), "-key", k1, "-newkey", k2, "-certout", OpenSsl.File("c2.pem")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c2.pem"));
        using var renewed = OpenSslCmp.Load(OpenSsl.File("c2.pem"));
        Assert.Equal("CN=demo-device-1", renewed.Subject);
        IReadOnlyList<StoredCertificate> all = await server.CertificatesAsync();
        Assert.Equal(2, all.Count);
        Assert.Contains(all, c => c.SerialNumber == renewed.SerialNumber && c.Status == CertificateStatus.Active);
    }

    [Fact]
    public async Task PlainClient_OnTheTlsPort_GetsNoAnswer_AndTheServerCertificateIsTheCredential()
    {
        await using var server = await CmpServerHost.StartAsync();

        // openssl s_client, TLS 1.2 then 1.3: the chain (credential, issuing CA) verifies to the demo root; a client certificate is asked for.
        foreach ((string option, string version) in new[] { ("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3") })
        {
            ProcessResult hello = await ExternalProcess.RunAsync(RequiredTool.Find("openssl", "openssl"),
                ["s_client", "-connect", $"127.0.0.1:{server.HttpsPort}", option, "-CAfile", server.TrustAnchor, "-verify_return_error"],
                TimeSpan.FromSeconds(30), standardInput: []);
            string output = hello.StandardOutput + hello.StandardError;
            Assert.True(hello.ExitCode == 0, hello.Describe());
            Assert.Contains("Verify return code: 0 (ok)", output, StringComparison.Ordinal);
            Assert.Contains(version, output, StringComparison.Ordinal);
            if (version == "TLSv1.2")
            {
                // s_client summarizes the CertificateRequest only for TLS 1.2 (in 1.3 it is encrypted).
                Assert.Contains("Client Certificate Types", output, StringComparison.Ordinal);
            }

            Assert.Contains("CN = CoapEnroll Demo Issuing CA", output, StringComparison.Ordinal);
        }

        // http:// to the TLS port: no HTTP answer from a TLS listener.
        ProcessResult plain = await OpenSsl.RunAsync("cmp", "-cmd", "genm", "-server", server.HttpsServer(), "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret,
            "-msg_timeout", "5", "-total_timeout", "10");
        Assert.NotEqual(0, plain.ExitCode);
    }
}
