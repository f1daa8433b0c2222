using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// <c>coapenroll est … --key KEY --key-passphrase-env NAME</c> with the device key as encrypted PKCS#8 (RFC 5958, PEM
/// "ENCRYPTED PRIVATE KEY"). Each test uses its own variable name, so tests running in parallel do not see each other's.
/// </summary>
public sealed class EncryptedClientKeyTests : IDisposable
{
    private const string Passphrase = "correct horse battery staple";
    private readonly string _scratch = EstTools.Scratch();
    private readonly string _variable = "COAPENROLL_TEST_PASSPHRASE_" + Guid.NewGuid().ToString("N");

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_variable, null);
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static TheoryData<string> Encryptions => ["aes256-pbkdf2-sha256", "aes128-pbkdf2-sha1", "3des-pkcs12-sha1"];

    [Theory]
    [MemberData(nameof(Encryptions))]
    public async Task RightPassphrase_Enrolls(string encryption)
    {
        await using var server = await EstServer.StartAsync();
        string key = await EncryptAsync(server.DemoKey, Passphrase, encryption);
        Environment.SetEnvironmentVariable(_variable, Passphrase);

        await CliAssert.SucceedsAsync(["est", "enroll", .. Device(server, key), "--key-passphrase-env", _variable, "--subject", "CN=demo-device-1",
            "--out", File("issued.pem"), "--key-out", File("issued.key")]);

        using var issued = X509Certificate2.CreateFromPemFile(File("issued.pem"), File("issued.key"));
        Assert.Equal("CN=demo-device-1", issued.Subject);
        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", server.TrustAnchor, "-untrusted", server.IssuingCa, File("issued.pem")));
        Assert.Equal(1, await server.CertificateCountAsync());
    }

    [Fact]
    public async Task WrongPassphrase_IsOneLineNamingTheKeyFile_AndNothingIsSent()
    {
        await using var server = await EstServer.StartAsync();
        string key = await EncryptAsync(server.DemoKey, Passphrase, "aes256-pbkdf2-sha256");
        Environment.SetEnvironmentVariable(_variable, "not the passphrase");

        foreach (string operation in new[] { "crts", "enroll" })
        {
            string[] extra = operation == "enroll" ? ["--subject", "CN=demo-device-1", "--key-out", File("wrong.key"), "--out", File("wrong.pem")] : [];
            string line = await CliAssert.FailsAsync(ExitCodes.Usage, [key, "wrong passphrase"],
                ["est", operation, .. Device(server, key), "--key-passphrase-env", _variable, .. extra]);
            Assert.DoesNotContain(" at ", line, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
        }

        Assert.False(System.IO.File.Exists(File("wrong.key")));
        Assert.False(System.IO.File.Exists(File("wrong.pem")));
        Assert.Equal(0, await server.CertificateCountAsync());
    }

    [Fact]
    public async Task EncryptedKey_WithoutPassphrase_PointsAtTheOption()
    {
        await using var server = await EstServer.StartAsync();
        string key = await EncryptAsync(server.DemoKey, Passphrase, "aes256-pbkdf2-sha256");

        // No --key-passphrase-env: the way to give one is that option (not a server configuration key).
        string line = await CliAssert.FailsAsync(ExitCodes.Usage, [key, "encrypted", "--key-passphrase-env"], ["est", "crts", .. Device(server, key)]);
        Assert.DoesNotContain("Ca:", line, StringComparison.Ordinal);

        // coap has no passphrase option: it says so instead of naming a server setting.
        line = await CliAssert.FailsAsync(ExitCodes.Usage, [key, "encrypted", "unencrypted keys only"],
            ["coap", "get", server.Uri("/whoami"), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", key]);
        Assert.DoesNotContain("Ca:", line, StringComparison.Ordinal);

        // The option names a variable that is not set.
        await CliAssert.FailsAsync(ExitCodes.Usage, ["--key-passphrase-env", _variable, "not set"],
            ["est", "crts", .. Device(server, key), "--key-passphrase-env", _variable]);
        Assert.Equal(0, await server.CertificateCountAsync());
    }

    private static string[] Device(EstServer server, string key) =>
        ["--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", key];

    private string File(string name) => Path.Combine(_scratch, name);

    /// <summary>Writes <paramref name="plainKeyFile"/>'s key as encrypted PKCS#8 PEM with <paramref name="passphrase"/>.</summary>
    private async Task<string> EncryptAsync(string plainKeyFile, string passphrase, string encryption)
    {
        PbeParameters parameters = encryption switch
        {
            "aes256-pbkdf2-sha256" => new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000),
            "aes128-pbkdf2-sha1" => new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA1, 2048),
            _ => new PbeParameters(PbeEncryptionAlgorithm.TripleDes3KeyPkcs12, HashAlgorithmName.SHA1, 2048),
        };
        using var key = ECDsa.Create();
        key.ImportFromPem(await System.IO.File.ReadAllTextAsync(plainKeyFile));
        string path = File($"device-{encryption}.key");
        string pem = key.ExportEncryptedPkcs8PrivateKeyPem(passphrase, parameters);
        Assert.StartsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----", pem, StringComparison.Ordinal);
        await System.IO.File.WriteAllTextAsync(path, pem + "\n");
        return path;
    }
}
