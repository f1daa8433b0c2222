using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Est;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// <c>coapenroll backup</c> while serve runs, and a CA restored from it: the same root, the certificates issued before the backup
/// in its store (not those after), CRL numbers that never repeat one the CA issued after the backup, files with their modes.
/// Certificates are checked with openssl; enrollments go through curl.
/// </summary>
public sealed partial class BackupTests : IDisposable
{
    private readonly string _scratch = EstTools.Scratch();

    [Fact]
    public async Task ABackupTakenWhileServing_RestoresTheCa_WithItsCertificates_KeysModes_AndCrlNumbersMovedOn()
    {
        await using EstHttpsHost live = await EstHttpsHost.StartAsync();
        string before = await EnrollAsync(live, "before");
        long crlBefore = await CrlNumberAsync(live.DataDirectory, "before");

        string backup = Path.Combine(_scratch, "backup");
        CliResult taken = await CliRunner.RunAsync("backup", "--data", live.DataDirectory, "--out", backup);
        Assert.True(taken.ExitCode == 0, taken.Describe());
        Assert.Contains($"Backed up {live.DataDirectory} to {backup}: ", taken.Output, StringComparison.Ordinal);
        Assert.Contains("a snapshot of the store (1 certificates, 1 requests).", taken.Output, StringComparison.Ordinal);

        // The live CA goes on: what it does after the backup is not in it.
        string after = await EnrollAsync(live, "after");
        long crlAfter = 0;
        for (int i = 0; i < 5; i++)
        {
            crlAfter = await CrlNumberAsync(live.DataDirectory, "after" + i.ToString(CultureInfo.InvariantCulture));
        }

        Assert.True(crlAfter >= crlBefore + 5, $"{crlAfter} after {crlBefore}");

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(backup));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(backup, "coapenroll.db")));
            foreach (string key in new[] { "ca/issuing.key", "ca/root.key", "server.key" })
            {
                Assert.Equal(File.GetUnixFileMode(Path.Combine(live.DataDirectory, key)), File.GetUnixFileMode(Path.Combine(backup, key)));
                Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(Path.Combine(backup, key)) & (UnixFileMode)0b000_111_111);
            }
        }

        await live.DisposeAsync();

        // Restored: the same root, the certificate from before (not the one after), new enrollments, CRL numbers past the live ones.
        string restoredData = Path.Combine(_scratch, "restored");
        await CopyDirectoryAsync(backup, restoredData);
        await using EstHttpsHost restored = await EstHttpsHost.StartAsync(new Dictionary<string, string?> { ["DataDirectory"] = restoredData });
        Assert.Equal(File.ReadAllBytes(Path.Combine(backup, "trust-anchor.pem")), File.ReadAllBytes(restored.TrustAnchor));
        CliResult issued = await CliRunner.RunAsync("requests", "list", "--status", "issued", "--data", restoredData);
        Assert.True(issued.ExitCode == 0, issued.Describe());
        Assert.Contains(before, issued.Output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(after, issued.Output, StringComparison.OrdinalIgnoreCase);
        await EnrollAsync(restored, "restored");
        long crlRestored = await CrlNumberAsync(restoredData, "restored");
        Assert.True(crlRestored > crlAfter, $"CRL number {crlRestored} after the restore, {crlAfter} issued by the live CA after the backup");
        // Past the backup's gap too (the restored server may have made a CRL of its own at start, for its CMP announcements).
        Assert.InRange(crlRestored, crlBefore + SqliteCertificateStore.BackupCrlNumberGap + 1, crlBefore + SqliteCertificateStore.BackupCrlNumberGap + 10);
    }

    [Fact]
    public async Task Refusals_AnExistingDestination_OneInsideTheDataDirectory_AndNoStore()
    {
        await using EstHttpsHost live = await EstHttpsHost.StartAsync();
        string taken = Path.Combine(_scratch, "taken");
        Directory.CreateDirectory(taken);
        File.WriteAllText(Path.Combine(taken, "other"), "x");

        await CliAssert.FailsAsync(ExitCodes.Usage, [$"--out {taken} exists and is not an empty directory: give a new one."],
            ["backup", "--data", live.DataDirectory, "--out", taken]);

        string inside = Path.Combine(live.DataDirectory, "backups", "one");
        await CliAssert.FailsAsync(ExitCodes.Usage, [$"--out {inside} is inside the data directory {live.DataDirectory}: put the backup elsewhere."],
            ["backup", "--data", live.DataDirectory, "--out", inside]);
        Assert.False(Directory.Exists(Path.Combine(live.DataDirectory, "backups")));

        string empty = Path.Combine(_scratch, "empty-data");
        Directory.CreateDirectory(empty);
        await CliAssert.FailsAsync(ExitCodes.Usage, ["No certificate store in"], ["backup", "--data", empty, "--out", Path.Combine(_scratch, "nothing")]);
        Assert.False(Directory.Exists(Path.Combine(_scratch, "nothing")));

        await CliAssert.FailsAsync(ExitCodes.Usage, ["--out"], ["backup", "--data", live.DataDirectory]);
    }

    [Fact]
    public async Task WithThePostgresStore_TheFilesAreBackedUp_AndTheCommandSaysTheStoreIsNot()
    {
        await using EstHttpsHost live = await EstHttpsHost.StartAsync();
        string backup = Path.Combine(_scratch, "files-only");

        // The command never connects: the database is pg_dump's to back up (this one does not even exist).
        CliResult taken = await CliAssert.SucceedsAsync("backup", "--data", live.DataDirectory, "--out", backup,
            "--Store:Provider=postgres", "--Store:ConnectionString=Host=127.0.0.1;Port=1;Database=none;Username=none");

        Assert.Contains("back it up with pg_dump", taken.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(backup, "ca", "issuing.key")));
        Assert.False(File.Exists(Path.Combine(backup, "coapenroll.db")));
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    /// <summary>One enrollment over HTTPS with curl; returns the serial (hex) of the certificate, checked with openssl.</summary>
    private static async Task<string> EnrollAsync(EstHttpsHost server, string name)
    {
        CurlAnswer answer = await server.PostCsrAsync(name, "simpleenroll", await server.NewCsrAsync(name, "/CN=demo-device-1"), server.DemoCertificate, server.DemoKey);
        Assert.True(answer.Status == 200, answer.Describe());
        (string pem, _) = await server.PrintCertsAsync(server.DecodeBase64(answer.BodyFile, name + ".p7"), name);
        await server.VerifyAsync(pem);
        using X509Certificate2 certificate = X509Certificate2.CreateFromPem(File.ReadAllText(pem));
        return certificate.SerialNumber;
    }

    private static async Task<long> CrlNumberAsync(string data, string name)
    {
        CliResult crl = await CliRunner.RunAsync("requests", "crl", "--data", data, "--out", Path.Combine(data, "..", name + ".crl"));
        Assert.True(crl.ExitCode == 0, crl.Describe());
        Match number = CrlNumber().Match(crl.Output);
        Assert.True(number.Success, crl.Describe());
        return long.Parse(number.Groups["n"].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>The restore step the README gives: <c>cp -a</c>, which keeps the modes.</summary>
    private static async Task CopyDirectoryAsync(string from, string to)
    {
        ProcessResult copied = await ExternalProcess.RunAsync("cp", ["-a", from, to], TimeSpan.FromSeconds(30));
        Assert.True(copied.ExitCode == 0, copied.Describe());
    }

    [GeneratedRegex(@"^Wrote CRL (?<n>\d+) ", RegexOptions.Multiline)]
    private static partial Regex CrlNumber();
}
