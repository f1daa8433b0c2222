using System.Globalization;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary><c>serve</c>'s HTTPS listener: <c>--https-port</c>, its log line, the server credential to curl, <c>--https-port off</c>.</summary>
public sealed class ServeHttpsTests
{
    [Fact]
    public async Task HttpsPort0_LogsTheHttpsUrl_CurlTrustsTheDemoRoot_AndAnUnknownPathIs404()
    {
        using var dir = new TempDirectory("coapenroll-https-");
        await using var server = await ServeProcess.StartAsync(dir.Path, "--https-port", "0");
        int port = await server.WaitForHttpsPortAsync();
        Assert.NotEqual(8443, port);
        string p = port.ToString(CultureInfo.InvariantCulture);
        Assert.Contains($"HTTPS server listening on https://127.0.0.1:{p} (TCP, TLS 1.2 and 1.3", server.Output, StringComparison.Ordinal);
        Assert.Contains($"https://127.0.0.1:{p}/.well-known/cmp", server.Output, StringComparison.Ordinal);
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            while (!server.Output.Contains("Try EST over HTTPS", StringComparison.Ordinal) && !deadline.IsCancellationRequested)
            {
                await Task.Delay(50, CancellationToken.None);
            }
        }

        Assert.Contains($"EST over HTTPS (RFC 7030) at https://127.0.0.1:{p}/.well-known/est", server.Output, StringComparison.Ordinal);
        Assert.Contains($"Try EST over HTTPS: curl --cacert {server.TrustAnchor} https://127.0.0.1:{p}/.well-known/est/cacerts | base64 -d", server.Output,
            StringComparison.Ordinal);

        string curl = RequiredTool.Find("curl", "curl");
        foreach (string version in (string[])["--tlsv1.2", "--tlsv1.3"])
        {
            // --tls-max pins the version; the server certificate must verify against the root serve wrote (no -k).
            ProcessResult result = await ExternalProcess.RunAsync(curl,
                ["-sS", "--cacert", server.TrustAnchor, version, "--tls-max", version[6..], "-o", "/dev/null", "-w", "%{http_code}", $"https://127.0.0.1:{p}/nope"],
                TimeSpan.FromSeconds(20));
            Assert.True(result.ExitCode == 0, $"{result.CommandLine}: {result.StandardError}{Environment.NewLine}{server.Output}");
            Assert.Equal("404", result.StandardOutput.Trim());
        }

        // The hint's command, against the real process: the CA certificates as certs-only, base64.
        ProcessResult cacerts = await ExternalProcess.RunAsync(curl, ["-sS", "--cacert", server.TrustAnchor, $"https://127.0.0.1:{p}/.well-known/est/cacerts"],
            TimeSpan.FromSeconds(20));
        Assert.True(cacerts.ExitCode == 0, cacerts.Describe());
        var certsOnly = new System.Security.Cryptography.Pkcs.SignedCms();
        certsOnly.Decode(Convert.FromBase64String(cacerts.StandardOutput));
        Assert.Contains(certsOnly.Certificates.Cast<System.Security.Cryptography.X509Certificates.X509Certificate2>(),
            c => c.Subject == "O=CoapEnroll, CN=CoapEnroll Demo Root CA");
    }

    [Theory]
    [InlineData("--Est:BasicAuthentication:nosuch=Accepted", "Est:BasicAuthentication:nosuch: no such profile (profiles: default)")]
    [InlineData("--Est:BasicAuthentication:default=Sometimes", "Est:BasicAuthentication:default: 'Sometimes' is not Off, Accepted or Required")]
    [InlineData("--Est:BasicUsers:u:PasswordHash=plain", "Est:BasicUsers:u:PasswordHash: expected pbkdf2-sha256$ITERATIONS$SALT$HASH")]
    public async Task UnusableBasicAuthenticationSettings_StopTheStart_WithOneLine(string setting, string expected)
    {
        using var dir = new TempDirectory("coapenroll-https-");
        CliResult result = await CliRunner.RunAsync("serve", "--bind", "127.0.0.1", "--coap-port", "0", "--coaps-port", "off", "--http-port", "0", "--https-port", "0",
            "--data", dir.File("data"), setting, "--Logging:LogLevel:Default=None", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=None");

        Assert.True(result.ExitCode == ExitCodes.Failure, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("coapenroll: error: Cannot start: " + expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpsPortOff_ListensOnNoHttpsPort()
    {
        using var dir = new TempDirectory("coapenroll-https-");
        await using var server = await ServeProcess.StartAsync(dir.Path, "--https-port", "off");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (!server.Output.Contains("HTTPS server disabled", StringComparison.Ordinal) && !deadline.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
        }

        Assert.Contains("HTTPS server disabled (Https:Enabled=false)", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("HTTPS server listening", server.Output, StringComparison.Ordinal);
    }
}
