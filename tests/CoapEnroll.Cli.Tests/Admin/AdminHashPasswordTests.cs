using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Hosting;

namespace CoapEnroll.Cli.Tests.Admin;

/// <summary><c>coapenroll admin hash-password</c>: the value for Admin:PasswordHash.</summary>
public sealed class AdminHashPasswordTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "admin-hash-" + Guid.NewGuid().ToString("N"));

    public AdminHashPasswordTests() => Directory.CreateDirectory(_directory);

    [Fact]
    public async Task PrintsASaltedHashThatVerifiesOnlyThePassword()
    {
        string file = Path.Combine(_directory, "password");
        await File.WriteAllTextAsync(file, "s3cret passphrase\nsecond line ignored\n");

        CliResult first = await CliRunner.RunAsync(["admin", "hash-password", "--password-file", file, "--iterations", "10000"]);
        CliResult second = await CliRunner.RunAsync(["admin", "hash-password", "--password-file", file, "--iterations", "10000"]);
        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first.Describe() + second.Describe());
        string encoded = first.Output.Trim();
        Assert.StartsWith("pbkdf2-sha512$10000$", encoded, StringComparison.Ordinal);
        Assert.NotEqual(encoded, second.Output.Trim());
        Assert.True(AdminPasswordHash.TryParse(encoded, out AdminPasswordHash? hash));
        Assert.True(hash!.Verify("s3cret passphrase"));
        Assert.False(hash.Verify("s3cret passphrasE"));
        Assert.False(hash.Verify(""));
    }

    [Fact]
    public async Task RefusesTooFewIterations_AndAnEmptyPassword()
    {
        string empty = Path.Combine(_directory, "empty");
        await File.WriteAllTextAsync(empty, "\n");
        string file = Path.Combine(_directory, "password");
        await File.WriteAllTextAsync(file, "x");

        CliResult cheap = await CliRunner.RunAsync(["admin", "hash-password", "--password-file", file, "--iterations", "1000"]);
        Assert.True(cheap.ExitCode == 2 && cheap.Error.Contains("--iterations", StringComparison.Ordinal), cheap.Describe());
        CliResult none = await CliRunner.RunAsync(["admin", "hash-password", "--password-file", empty]);
        Assert.True(none.ExitCode == 2 && none.Error.Contains("No password", StringComparison.Ordinal), none.Describe());
        Assert.False(AdminPasswordHash.TryParse("pbkdf2-sha512$1000$AAAAAAAAAAAAAAAAAAAAAA==$" + Convert.ToBase64String(new byte[64]), out _));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
