using System.Text;
using System.Text.RegularExpressions;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// <c>coapenroll cmp secrets</c> on the store of a running server, and <c>openssl cmp</c> enrolling with what it added: a one-time
/// onboarding code spent by its first certificate, an expired secret, a removed one.
/// </summary>
[Trait("Needs", "openssl")]
public sealed partial class CmpSecretsTests : CmpTestBase
{
    [Fact]
    public async Task OneTimeCode_FromTheCli_EnrollsOnce_ThenIsRefused_AndListShowsItUsed()
    {
        await using var server = await CmpServerHost.StartAsync();
        CliResult add = await CliRunner.RunAsync("cmp", "secrets", "add", "code-7", "--one-time", "--expires", "7d", "--data", server.DataDirectory);
        Assert.True(add.ExitCode == 0, add.Describe());
        string secret = SecretLine().Match(add.Output) is { Success: true } m ? m.Groups["secret"].Value : throw new Xunit.Sdk.XunitException(add.Describe());
        Assert.Contains("one-time", add.Output, StringComparison.Ordinal);

        string key = await OpenSsl.NewKeyAsync("k.pem");
        string[] ir = ["cmp", "-cmd", "ir", "-server", server.HttpServer(), "-ref", "code-7", "-secret", "pass:" + secret, "-newkey", key,
            "-subject", "/CN=code-7", "-implicit_confirm"];
        await OpenSsl.MustAsync([.. ir, "-certout", OpenSsl.File("c.pem")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        Assert.Equal("CN=code-7", OpenSslCmp.Load(OpenSsl.File("c.pem")).Subject);

        // The code is spent: a second enrollment with it is notAuthorized (MAC-protected, so openssl reads the failInfo).
        ProcessResult again = await OpenSsl.RunAsync([.. ir, "-certout", OpenSsl.File("c2.pem")]);
        AssertRefused(again, "notAuthorized");
        Assert.Single(await server.CertificatesAsync());

        CliResult list = await CliRunner.RunAsync("cmp", "secrets", "list", "--data", server.DataDirectory);
        Assert.True(list.ExitCode == 0, list.Describe());
        string row = Assert.Single(list.Output.Split('\n'), l => l.StartsWith("code-7\t", StringComparison.Ordinal));
        Assert.Contains("one-time\tused ", row, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, list.Output + list.Error, StringComparison.Ordinal);
        IReadOnlyList<AuditEntry> audit = await server.Certification.Store.ListAuditAsync(100, CancellationToken.None);
        Assert.Contains(audit, a => a.Action == "secret-consumed");
        Assert.DoesNotContain(audit, a => a.Details.Contains(secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SecretFromAFile_WithAGrant_ThenRemoved_AndAnExpiredOne_AreHandledLikeConfiguredSecrets()
    {
        await using var server = await CmpServerHost.StartAsync();
        string file = OpenSsl.File("secret.txt");
        await File.WriteAllTextAsync(file, "gateway-secret-6e1d\n");
        CliResult add = await CliRunner.RunAsync("cmp", "secrets", "add", "gw-3", "--secret-file", file, "--subject", "CN=gateway 3,O=Acme", "--data", server.DataDirectory);
        Assert.True(add.ExitCode == 0 && !add.Output.Contains("secret:", StringComparison.Ordinal), add.Describe());

        string key = await OpenSsl.NewKeyAsync("k.pem");
        string[] mac = ["-server", server.HttpServer(), "-ref", "gw-3", "-secret", "pass:gateway-secret-6e1d", "-newkey", key, "-implicit_confirm", "-unprotected_errors"];
        ProcessResult otherName = await OpenSsl.RunAsync(["cmp", "-cmd", "ir", .. mac, "-subject", "/CN=gw-3", "-certout", OpenSsl.File("x.pem")]);
        Assert.NotEqual(0, otherName.ExitCode);
        await OpenSsl.MustAsync(["cmp", "-cmd", "ir", .. mac, "-subject", "/O=Acme/CN=gateway 3", "-certout", OpenSsl.File("c.pem")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));

        // Reusable: a second certificate with it.
        string key2 = await OpenSsl.NewKeyAsync("k2.pem");
        await OpenSsl.MustAsync(["cmp", "-cmd", "ir", .. mac[..^4], "-newkey", key2, "-implicit_confirm", "-subject", "/O=Acme/CN=gateway 3", "-certout", OpenSsl.File("c2.pem")]);

        CliResult remove = await CliRunner.RunAsync("cmp", "secrets", "remove", "gw-3", "--data", server.DataDirectory);
        Assert.True(remove.ExitCode == 0, remove.Describe());
        ProcessResult removed = await OpenSsl.RunAsync(["cmp", "-cmd", "ir", .. mac, "-subject", "/O=Acme/CN=gateway 3", "-certout", OpenSsl.File("c3.pem")]);
        AssertRefused(removed, "badMessageCheck");

        // An expired secret (written to the store directly: the CLI takes no expiry in the past).
        await server.Certification.Store.TryAddSharedSecretAsync(new StoredSharedSecret
        {
            Reference = "old-1", Secret = Encoding.UTF8.GetBytes("old-secret-0001"), ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1),
        }, new AuditEntry { Actor = "test", Action = "secret-add", Details = "old-1" }, CancellationToken.None);
        ProcessResult expired = await OpenSsl.RunAsync("cmp", "-cmd", "ir", "-server", server.HttpServer(), "-ref", "old-1", "-secret", "pass:old-secret-0001",
            "-newkey", key, "-subject", "/CN=old-1", "-implicit_confirm", "-certout", OpenSsl.File("c4.pem"));
        AssertRefused(expired, "notAuthorized");
        Assert.Contains("expired", expired.StandardOutput + expired.StandardError, StringComparison.Ordinal);

        // Unknown, as before.
        ProcessResult unknown = await OpenSsl.RunAsync("cmp", "-cmd", "ir", "-server", server.HttpServer(), "-ref", "nobody", "-secret", "pass:x",
            "-newkey", key, "-subject", "/CN=nobody", "-implicit_confirm", "-unprotected_errors", "-certout", OpenSsl.File("c5.pem"));
        AssertRefused(unknown, "badMessageCheck");
        Assert.Equal(2, (await server.CertificatesAsync()).Count);
    }

    [Fact]
    public async Task SecretPipedToTheProgram_OnStdin_Enrolls()
    {
        await using var server = await CmpServerHost.StartAsync();
        string program = Path.Combine(AppContext.BaseDirectory, "coapenroll.dll");
        string dotnet = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? path : "dotnet";
        ProcessResult add = await ExternalProcess.RunAsync(dotnet, [program, "cmp", "secrets", "add", "piped-1", "--secret-file", "-", "--any-name", "--data", server.DataDirectory],
            TimeSpan.FromSeconds(60), standardInput: Encoding.UTF8.GetBytes("piped-secret-4c0ffee\n"));
        Assert.True(add.ExitCode == 0 && add.StandardOutput.Contains("'piped-1'", StringComparison.Ordinal), add.Describe());
        Assert.DoesNotContain("piped-secret", add.StandardOutput + add.StandardError, StringComparison.Ordinal);

        string key = await OpenSsl.NewKeyAsync("k.pem");
        await OpenSsl.MustAsync("cmp", "-cmd", "ir", "-server", server.HttpServer(), "-ref", "piped-1", "-secret", "pass:piped-secret-4c0ffee",
            "-newkey", key, "-subject", "/CN=any-device-9", "-implicit_confirm", "-certout", OpenSsl.File("c.pem"));
        Assert.Equal("CN=any-device-9", OpenSslCmp.Load(OpenSsl.File("c.pem")).Subject);
    }

    [Fact]
    public async Task UsageErrors_AreOneLineAndExit2()
    {
        await using var server = await CmpServerHost.StartAsync();
        string dir = server.DataDirectory;
        Assert.Equal(0, (await CliRunner.RunAsync("cmp", "secrets", "add", "dup", "--data", dir)).ExitCode);
        foreach (string[] args in new[]
        {
            new[] { "cmp", "secrets", "add", "dup", "--data", dir },
            ["cmp", "secrets", "add", "x1", "--subject", "CN=a", "--any-name", "--data", dir],
            ["cmp", "secrets", "add", "x2", "--subject", "not a dn", "--data", dir],
            ["cmp", "secrets", "add", "x3", "--expires", "yesterday", "--data", dir],
            ["cmp", "secrets", "add", "x4", "--expires", "2001-01-01T00:00:00Z", "--data", dir],
            ["cmp", "secrets", "add", "x5", "--profile", "no-such-profile", "--data", dir],
            ["cmp", "secrets", "add", "x6", "--secret-file", OpenSsl.File("missing.txt"), "--data", dir],
            ["cmp", "secrets", "remove", "never-added", "--data", dir],
        })
        {
            CliResult result = await CliRunner.RunAsync(args);
            Assert.True(result.ExitCode == 2 && result.Error.Trim().Split('\n').Length == 1, string.Join(' ', args) + ": " + result.Describe());
        }

        CliResult list = await CliRunner.RunAsync("cmp", "secrets", "list", "--data", dir);
        Assert.Equal(["REFERENCE", "dup"], list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')[0]));
    }

    private static void AssertRefused(ProcessResult result, string failInfo)
    {
        Assert.NotEqual(0, result.ExitCode);
        Assert.True((result.StandardOutput + result.StandardError).Contains(failInfo, StringComparison.OrdinalIgnoreCase), result.Describe());
    }

    [GeneratedRegex(@"^secret: (?<secret>[0-9a-f]{32})$", RegexOptions.Multiline)]
    private static partial Regex SecretLine();
}
