using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// Registrars (RFC 7030 §3.7) end to end: <c>coapenroll ca registrar</c> issues a certificate with id-kp-cmcRA as openssl reads and
/// verifies it; <c>coap-client-openssl</c> presenting it gets a certificate for a device's name over EST-coaps, and
/// <c>requests list</c> shows the registrar; the demo device's IDevID asking for the same kind of name is 4.03.
/// </summary>
public sealed class RegistrarCliTests : IDisposable
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
    [Trait("Needs", "dtls")]
    public async Task A_registrar_certificate_enrolls_a_device_name_with_coap_client_and_a_device_certificate_is_refused()
    {
        await using var server = await EstServer.StartAsync();
        string[] data = ["--data", server.DataDirectory];
        string ra = File("ra.pem"), raKey = File("ra.key");
        CliResult issued = await CliAssert.SucceedsAsync(["ca", "registrar", "--subject", "CN=edge-1,O=Example", "--out", ra, "--key-out", raKey, "--days", "30", .. data]);
        Assert.Contains("Issued registrar certificate", issued.Output, StringComparison.Ordinal);

        string text = await EstTools.OpenSslAsync("x509", "-in", ra, "-noout", "-text");
        Assert.Contains("CMC Registration Authority", text, StringComparison.Ordinal);
        Assert.Contains("TLS Web Client Authentication", text, StringComparison.Ordinal);
        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", server.TrustAnchor, "-untrusted", server.IssuingCa, ra), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, System.IO.File.GetUnixFileMode(raKey));
        }

        (_, string csr) = await EstTools.NewCsrAsync(_scratch, "sensor", "/CN=sensor-7");
        string output = File("sensor.p7");
        ProcessResult enrolled = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-f", csr, "-c", ra, "-j", raKey, "-R", server.TrustAnchor,
            "-o", output, server.Uri("/.well-known/est/sen"));
        Assert.True(enrolled.ExitCode == 0 && System.IO.File.Exists(output) && new FileInfo(output).Length > 0, enrolled.Describe());
        string pem = File("sensor.pem");
        await EstTools.OpenSslAsync("pkcs7", "-inform", "DER", "-in", output, "-print_certs", "-out", pem);
        Assert.Equal("subject=CN=sensor-7", (await EstTools.OpenSslAsync("x509", "-in", pem, "-noout", "-subject", "-nameopt", "RFC2253")).Trim());
        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", server.TrustAnchor, "-untrusted", server.IssuingCa, pem), StringComparison.Ordinal);

        using X509Certificate2 raCertificate = X509Certificate2.CreateFromPem(await System.IO.File.ReadAllTextAsync(ra));
        CliResult list = await CliAssert.SucceedsAsync(["requests", "list", "--status", "issued", .. data]);
        Assert.Contains(list.Output.Split('\n'), r => r.Contains("\test-coaps\t", StringComparison.Ordinal)
            && r.Contains($"\tCN=edge-1, O=Example sha256:{raCertificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)}\tCN=sensor-7\tserial ",
                StringComparison.Ordinal));

        // The demo device's IDevID carries no id-kp-cmcRA: the name is not its own.
        (_, string other) = await EstTools.NewCsrAsync(_scratch, "other", "/CN=sensor-8");
        ProcessResult refused = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-f", other, "-c", server.DemoCertificate, "-j", server.DemoKey,
            "-R", server.TrustAnchor, server.Uri("/.well-known/est/sen"));
        string both = refused.StandardOutput + refused.StandardError;
        Assert.True(both.Contains("4.03", StringComparison.Ordinal) && both.Contains("name not bound to the requester", StringComparison.Ordinal), refused.Describe());
    }

    [Fact]
    public async Task Ca_registrar_refuses_bad_input_with_usage_errors()
    {
        await using var server = await EstServer.StartAsync();
        string[] data = ["--data", server.DataDirectory];
        CliResult days = await CliRunner.RunAsync(["ca", "registrar", "--subject", "CN=edge-1", "--out", File("a.pem"), "--key-out", File("a.key"), "--days", "0", .. data]);
        Assert.True(days.ExitCode == ExitCodes.Usage && days.Error.Contains("--days 0 is outside 1..36500", StringComparison.Ordinal), days.Describe());
        CliResult subject = await CliRunner.RunAsync(["ca", "registrar", "--subject", "no-dn", "--out", File("a.pem"), "--key-out", File("a.key"), .. data]);
        Assert.True(subject.ExitCode == ExitCodes.Usage && subject.Error.Contains("--subject 'no-dn'", StringComparison.Ordinal), subject.Describe());
        CliResult reserved = await CliRunner.RunAsync(["ca", "registrar", "--subject", "CN=localhost", "--out", File("a.pem"), "--key-out", File("a.key"), .. data]);
        Assert.True(reserved.ExitCode == ExitCodes.Failure && reserved.Error.Contains("ReservedName", StringComparison.Ordinal), reserved.Describe());
        Assert.False(System.IO.File.Exists(File("a.pem")));
    }

    private string File(string name) => Path.Combine(_scratch, name);
}
