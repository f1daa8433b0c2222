using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// <c>coapenroll cmp ir|kur … --defer-confirm FILE</c> then <c>coapenroll cmp certconf --state FILE [--reject REASON]</c> against
/// our server: accepted (pkiConf, the certificate stays valid), rejected (revoked), and too late (the server revoked it at its
/// confirmWaitTime and has no transaction left to confirm).
/// </summary>
[Trait("Needs", "openssl")]
public sealed class CmpCertConfTests : CmpTestBase
{
    public CmpCertConfTests() => Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);

    private async Task<CliResult> MustAsync(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    private string[] Mac => ["--ref", "dev-1", "--secret-env", SecretVariable];

    private static async Task<StoredCertificate> StoredAsync(CmpServerHost server, string certificateFile)
    {
        string serial = OpenSslCmp.Load(certificateFile).SerialNumber;
        return Assert.Single(await server.CertificatesAsync(), c => string.Equals(c.SerialNumber, serial, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task DeferredIr_ConfirmedLater_OverHttp_StaysValid_AndCannotBeConfirmedTwice()
    {
        await using var server = await CmpServerHost.StartAsync();
        string url = $"http://127.0.0.1:{server.HttpPort}";
        CliResult ir = await MustAsync(["cmp", "ir", "--server", url, .. Mac, "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k.pem"),
            "--out", OpenSsl.File("c.pem"), "--defer-confirm", OpenSsl.File("state.json")]);
        Assert.Contains("cmp certconf --state", ir.Output, StringComparison.Ordinal);
        Assert.Contains("not yet confirmed", ir.Output, StringComparison.Ordinal);
        Assert.Contains("\"confirmWaitTime\"", await File.ReadAllTextAsync(OpenSsl.File("state.json")), StringComparison.Ordinal);

        CliResult confirmed = await MustAsync(["cmp", "certconf", "--server", url, .. Mac, "--state", OpenSsl.File("state.json")]);
        Assert.Contains("Confirmed serial", confirmed.Output, StringComparison.Ordinal);
        Assert.Equal(CertificateStatus.Active, (await StoredAsync(server, OpenSsl.File("c.pem"))).Status);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));

        // The transaction is closed: a second certConf is the server's refusal, and the certificate stays valid.
        CliResult again = await CliRunner.RunAsync(["cmp", "certconf", "--server", url, .. Mac, "--state", OpenSsl.File("state.json")]);
        Assert.True(again.ExitCode == 4 && again.Error.Contains("no open transaction", StringComparison.Ordinal), again.Describe());
        Assert.Equal(CertificateStatus.Active, (await StoredAsync(server, OpenSsl.File("c.pem"))).Status);
    }

    [Fact]
    public async Task DeferredIr_Rejected_OverCoap_IsRevoked()
    {
        await using var server = await CmpServerHost.StartAsync();
        string url = $"coap://127.0.0.1:{server.CoapPort}";
        await MustAsync(["cmp", "ir", "--server", url, .. Mac, "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k.pem"),
            "--out", OpenSsl.File("c.pem"), "--defer-confirm", OpenSsl.File("state.json")]);
        Assert.Equal(CertificateStatus.Active, (await StoredAsync(server, OpenSsl.File("c.pem"))).Status);

        CliResult rejected = await MustAsync(["cmp", "certconf", "--server", url, .. Mac, "--state", OpenSsl.File("state.json"), "--reject", "wrong device"]);
        Assert.Contains("Rejected serial", rejected.Output, StringComparison.Ordinal);
        StoredCertificate stored = await StoredAsync(server, OpenSsl.File("c.pem"));
        Assert.Equal(CertificateStatus.Revoked, stored.Status);
    }

    [Fact]
    public async Task DeferredKur_SignedWithTheOldCertificate_ConfirmedLater()
    {
        await using var server = await CmpServerHost.StartAsync();
        string url = $"coap://127.0.0.1:{server.CoapPort}";
        await MustAsync(["cmp", "ir", "--server", url, .. Mac, "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k1.pem"), "--out", OpenSsl.File("c1.pem")]);
        string[] signed = ["--trust", server.TrustAnchor, "--cert", OpenSsl.File("c1.pem"), "--key", OpenSsl.File("k1.pem")];
        await MustAsync(["cmp", "kur", "--server", url, .. signed, "--key-out", OpenSsl.File("k2.pem"), "--out", OpenSsl.File("c2.pem"),
            "--defer-confirm", OpenSsl.File("state.json")]);
        await MustAsync(["cmp", "certconf", "--server", url, .. signed, "--state", OpenSsl.File("state.json")]);
        Assert.Equal(CertificateStatus.Active, (await StoredAsync(server, OpenSsl.File("c2.pem"))).Status);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c2.pem"));
    }

    [Fact]
    public async Task CertConf_AfterConfirmWaitTime_IsTheServersError_AndTheCertificateIsRevoked()
    {
        await using var server = await CmpServerHost.StartAsync(new Dictionary<string, string?> { ["Cmp:ConfirmWaitTime"] = "00:00:01" });
        string url = $"http://127.0.0.1:{server.HttpPort}";
        await MustAsync(["cmp", "ir", "--server", url, .. Mac, "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k.pem"),
            "--out", OpenSsl.File("c.pem"), "--defer-confirm", OpenSsl.File("state.json")]);

        // The server's sweep (every 5 s) revokes what was not confirmed in time.
        for (int i = 0; i < 100 && (await StoredAsync(server, OpenSsl.File("c.pem"))).Status != CertificateStatus.Revoked; i++)
        {
            await Task.Delay(200);
        }

        Assert.Equal(CertificateStatus.Revoked, (await StoredAsync(server, OpenSsl.File("c.pem"))).Status);
        CliResult late = await CliRunner.RunAsync(["cmp", "certconf", "--server", url, .. Mac, "--state", OpenSsl.File("state.json")]);
        Assert.True(late.ExitCode == 4, late.Describe());
        Assert.Contains("refused: badRequest", late.Error, StringComparison.Ordinal);
        Assert.Contains("no open transaction", late.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_StateFile_AndDeferWithImplicitConfirm()
    {
        CliResult noState = await CliRunner.RunAsync(["cmp", "certconf", "--server", "coap://127.0.0.1:1", .. Mac]);
        Assert.True(noState.ExitCode == 2 && noState.Error.Contains("--state FILE", StringComparison.Ordinal), noState.Describe());

        await File.WriteAllTextAsync(OpenSsl.File("bad.json"), "{\"format\":\"something else\"}");
        CliResult bad = await CliRunner.RunAsync(["cmp", "certconf", "--server", "coap://127.0.0.1:1", .. Mac, "--state", OpenSsl.File("bad.json")]);
        Assert.True(bad.ExitCode == 2 && bad.Error.Contains("not a certconf state file", StringComparison.Ordinal), bad.Describe());

        CliResult both = await CliRunner.RunAsync(["cmp", "ir", "--server", "coap://127.0.0.1:1", .. Mac, "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k.pem"),
            "--implicit-confirm", "--defer-confirm", OpenSsl.File("state.json")]);
        Assert.True(both.ExitCode == 2 && both.Error.Contains("exclude each other", StringComparison.Ordinal), both.Describe());
        Assert.False(File.Exists(OpenSsl.File("k.pem")));
    }
}
