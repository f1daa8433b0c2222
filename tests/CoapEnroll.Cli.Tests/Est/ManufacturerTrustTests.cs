using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// <c>coapenroll serve --trust-manufacturer FILE</c> (and <c>Ca:TrustedManufacturerCaFiles</c>): devices whose certificate (IDevID)
/// comes from another, independent manufacturer CA may enroll only once that CA is trusted.
/// </summary>
public sealed class ManufacturerTrustTests : IDisposable
{
    private readonly string _scratch = EstTools.Scratch();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task DeviceOfAnotherManufacturer_IsRefused_UntilServeTrustsItsCa()
    {
        using var manufacturer = new TestPki("Acme Devices Manufacturer CA");
        var (deviceCertificate, deviceKey) = manufacturer.Issue("acme-device-1", "acme-device-1");

        await using (var untrusting = await CliServer.StartAsync())
        {
            await CliAssert.FailsAsync(ExitCodes.ClientError, ["4.03", "does not chain to this CA or a trusted manufacturer CA"],
                Enroll(untrusting, deviceCertificate, deviceKey, "CN=acme-device-1", "refused"));
            Assert.False(File.Exists(Path.Combine(_scratch, "refused.pem")));
        }

        await using var trusting = await CliServer.StartAsync("--trust-manufacturer", manufacturer.CaFile);
        await CliAssert.SucceedsAsync(Enroll(trusting, deviceCertificate, deviceKey, "CN=acme-device-1", "enrolled"));
        await AssertIssuedAsync(trusting, "enrolled", "CN=acme-device-1");
    }

    [Fact]
    public async Task TrustManufacturer_IsRepeatable_AndAddsToTheConfiguredFiles()
    {
        using var configured = new TestPki("Configured Manufacturer CA");
        using var first = new TestPki("First Flag Manufacturer CA");
        using var second = new TestPki("Second Flag Manufacturer CA");
        using var unknown = new TestPki("Unknown Manufacturer CA");

        await using var server = await CliServer.StartAsync($"--Ca:TrustedManufacturerCaFiles:0={configured.CaFile}",
            "--trust-manufacturer", first.CaFile, "--trust-manufacturer", second.CaFile);

        foreach (var (pki, name) in new[] { (configured, "configured-device"), (first, "first-device"), (second, "second-device") })
        {
            var (certificate, key) = pki.Issue(name, name);
            await CliAssert.SucceedsAsync(Enroll(server, certificate, key, $"CN={name}", name));
            await AssertIssuedAsync(server, name, $"CN={name}");
        }

        // Trusting more manufacturers does not trust every manufacturer.
        var (stranger, strangerKey) = unknown.Issue("stranger", "stranger");
        await CliAssert.FailsAsync(ExitCodes.ClientError, ["4.03"], Enroll(server, stranger, strangerKey, "CN=stranger", "stranger"));
    }

    [Fact]
    public async Task TrustManufacturer_MissingFile_IsAUsageErrorNamingIt()
    {
        string missing = Path.Combine(_scratch, "no-such-ca.pem");
        string data = Path.Combine(_scratch, "data");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await CliAssert.FailsAsync(ExitCodes.Usage, ["--trust-manufacturer", missing, "no such file"],
            ["serve", "--bind", "127.0.0.1", "--coap-port", "0", "--http-port", "0", "--https-port", "0", "--coaps-port", "off", "--data", data, "--trust-manufacturer", missing], timeout.Token);

        // Refused before anything was created or bound.
        Assert.False(Directory.Exists(data));
    }

    [Theory]
    [InlineData("leaf", "not a CA certificate")]
    [InlineData("garbage", "no '-----BEGIN CERTIFICATE-----' block")]
    [InlineData("key", "no '-----BEGIN CERTIFICATE-----' block")]
    [InlineData("empty", "no '-----BEGIN CERTIFICATE-----' block")]
    [InlineData("corrupt", "cannot be decoded")]
    public async Task TrustManufacturer_FileThatIsNoCaCertificate_IsAOneLineErrorNamingIt(string kind, string problem)
    {
        using var pki = new TestPki("Some Manufacturer CA");
        var (leaf, leafKey) = pki.Issue("device", "device-1");
        string file = Path.Combine(_scratch, kind + ".pem");
        string content = kind switch
        {
            "leaf" => await File.ReadAllTextAsync(leaf),
            "garbage" => "this is not a certificate\n\u0001\u0002\u00ff binary junk\n",
            "key" => await File.ReadAllTextAsync(leafKey),
            "empty" => string.Empty,
            _ => "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQoLDA0ODw==\n-----END CERTIFICATE-----\n",
        };
        await File.WriteAllTextAsync(file, content);
        string data = Path.Combine(_scratch, "data-" + kind);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // Exit 2: a file the configuration names, which a restart would not make usable.
        await CliAssert.FailsAsync(ExitCodes.Usage, ["manufacturer CA", file, problem],
            ["serve", "--bind", "127.0.0.1", "--coap-port", "0", "--http-port", "0", "--https-port", "0", "--coaps-port", "off", "--data", data, "--trust-manufacturer", file,
                "--Logging:LogLevel:Default=None", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=None"],
            timeout.Token);
    }

    private string[] Enroll(CliServer server, string certificate, string key, string subject, string name) =>
        ["est", "enroll", "--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", certificate, "--key", key, "--subject", subject,
            "--out", Path.Combine(_scratch, name + ".pem"), "--key-out", Path.Combine(_scratch, name + ".key")];

    /// <summary>The certificate written for <paramref name="name"/> certifies the key written beside it and chains to serve's trust anchor.</summary>
    private async Task AssertIssuedAsync(CliServer server, string name, string subject)
    {
        string certificate = Path.Combine(_scratch, name + ".pem");
        using var issued = X509Certificate2.CreateFromPemFile(certificate, Path.Combine(_scratch, name + ".key"));
        Assert.Equal(subject, issued.Subject);
        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", server.TrustAnchor, "-untrusted", server.IssuingCa, certificate));
    }
}
