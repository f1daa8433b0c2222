using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// <c>coapenroll cmp ir|cr --centralkeygen</c> (RFC 9483 §4.1.6) against our server: the key comes back enveloped to the shared
/// secret (PasswordRecipientInfo), to an EC protection certificate (KeyAgreeRecipientInfo) or to an RSA one
/// (KeyTransRecipientInfo), signed by the server; the client opens it, checks the signature and writes it to --key-out.
/// </summary>
[Trait("Needs", "openssl")]
public sealed class CmpCentralKeyGenTests : CmpTestBase
{
    public CmpCentralKeyGenTests() => Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);

    private string[] Mac => ["--ref", "dev-1", "--secret-env", SecretVariable];

    private async Task<CliResult> MustAsync(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    /// <summary>The certificate verifies, and the key written is the certificate's key.</summary>
    private async Task AssertKeyPairAsync(CmpServerHost server, string certificate, string key)
    {
        await OpenSsl.VerifyAsync(server, certificate);
        ProcessResult fromKey = await OpenSsl.MustAsync("pkey", "-in", key, "-pubout");
        ProcessResult fromCertificate = await OpenSsl.MustAsync("x509", "-in", certificate, "-noout", "-pubkey");
        Assert.Equal(fromCertificate.StandardOutput.Trim(), fromKey.StandardOutput.Trim());
    }

    [Fact]
    public async Task Ir_WithMac_GetsAPasswordEnvelopedKey_OverHttp()
    {
        await using var server = await CmpServerHost.StartAsync();
        await MustAsync(["cmp", "ir", "--server", $"http://127.0.0.1:{server.HttpPort}", .. Mac, "--trust", server.TrustAnchor, "--centralkeygen",
            "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k.pem"), "--out", OpenSsl.File("c.pem")]);
        await AssertKeyPairAsync(server, OpenSsl.File("c.pem"), OpenSsl.File("k.pem"));
    }

    [Fact]
    public async Task Cr_SignedWithEc_ThenWithRsa_GetsKeysEnvelopedToTheirCertificates_OverCoap()
    {
        await using var server = await CmpServerHost.StartAsync();
        string url = $"coap://127.0.0.1:{server.CoapPort}";

        // EC protection certificate: key agreement.
        await MustAsync(["cmp", "ir", "--server", url, .. Mac, "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k1.pem"), "--out", OpenSsl.File("c1.pem")]);
        await MustAsync(["cmp", "cr", "--server", url, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("c1.pem"), "--key", OpenSsl.File("k1.pem"),
            "--centralkeygen", "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k2.pem"), "--out", OpenSsl.File("c2.pem")]);
        await AssertKeyPairAsync(server, OpenSsl.File("c2.pem"), OpenSsl.File("k2.pem"));

        // RSA protection certificate (enrolled by openssl cmp): key transport.
        await OpenSsl.MustAsync("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", OpenSsl.File("rsa.pem"));
        await OpenSsl.MustAsync("cmp", "-cmd", "ir", "-server", server.HttpServer(), "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret,
            "-newkey", OpenSsl.File("rsa.pem"), "-subject", "/CN=dev-1", "-certout", OpenSsl.File("rsa-cert.pem"));
        await MustAsync(["cmp", "cr", "--server", url, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("rsa-cert.pem"), "--key", OpenSsl.File("rsa.pem"),
            "--centralkeygen", "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k3.pem"), "--out", OpenSsl.File("c3.pem")]);
        await AssertKeyPairAsync(server, OpenSsl.File("c3.pem"), OpenSsl.File("k3.pem"));
    }

    [Fact]
    public async Task Kur_WithCentralKeyGeneration_IsTheServersRefusal_NothingIssued()
    {
        await using var server = await CmpServerHost.StartAsync();
        string url = $"http://127.0.0.1:{server.HttpPort}";
        await MustAsync(["cmp", "ir", "--server", url, .. Mac, "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k1.pem"), "--out", OpenSsl.File("c1.pem")]);
        CliResult kur = await CliRunner.RunAsync(["cmp", "kur", "--server", url, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("c1.pem"),
            "--key", OpenSsl.File("k1.pem"), "--centralkeygen", "--key-out", OpenSsl.File("k2.pem"), "--out", OpenSsl.File("c2.pem")]);
        Assert.True(kur.ExitCode == 4 && kur.Error.Contains("refused: badCertTemplate", StringComparison.Ordinal), kur.Describe());
        Assert.False(File.Exists(OpenSsl.File("k2.pem")));
        Assert.Single(await server.CertificatesAsync());
    }

    [Fact]
    public async Task WithoutTrust_IsAUsageError()
    {
        CliResult result = await CliRunner.RunAsync(["cmp", "ir", "--server", "coap://127.0.0.1:1", .. Mac, "--centralkeygen", "--subject", "CN=dev-1",
            "--key-out", OpenSsl.File("k.pem")]);
        Assert.True(result.ExitCode == 2 && result.Error.Contains("--centralkeygen needs --trust", StringComparison.Ordinal), result.Describe());
        Assert.False(File.Exists(OpenSsl.File("k.pem")));
    }
}
