using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests;

/// <summary><c>coapenroll coap … coaps://</c> against the coaps listener of <c>serve</c>, and the server's DTLS configuration.</summary>
public class CoapsTests
{
    private const string PskIdentity = "device-7";
    private const string PskKeyHex = "00112233445566778899aabbccddeeff";

    [Fact]
    public async Task FirstStart_CreatesDemoCredentialsInTheDataDirectory()
    {
        await using var server = await InProcessServer.StartAsync();

        foreach (string file in new[] { "trust-anchor.pem", "server.pem", "server.key", Path.Combine("demo", "device.pem"), Path.Combine("demo", "device.key") })
        {
            Assert.True(File.Exists(Path.Combine(server.DataDirectory, file)), $"{file} missing from {server.DataDirectory}");
        }

        Assert.NotEqual(server.Port, server.SecurePort);
    }

    [Fact]
    public async Task Get_WithTrustAnchor_IsAnonymous()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", server.TrustAnchorFile, "--timeout", "20");

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.StartsWith("2.05 Content", result.Output, StringComparison.Ordinal);
        Assert.Contains("transport: coaps (DTLS 1.2)", result.Output, StringComparison.Ordinal);
        Assert.Contains("authentication: anonymous", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_ByHostName_ChecksTheServerNameAgainstTheDnsSan()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await CliRunner.RunAsync("coap", "get", $"coaps://localhost:{server.SecurePort}/test", "--trust", server.TrustAnchorFile, "--timeout", "20");

        Assert.True(result.ExitCode == ExitCodes.Success && result.Output.Contains("CoapEnroll diagnostic resource", StringComparison.Ordinal), result.Describe());
    }

    [Fact]
    public async Task Get_WithDemoDeviceCertificate_IsAuthenticated()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", server.TrustAnchorFile,
            "--cert", server.DemoDeviceCertificateFile, "--key", server.DemoDeviceKeyFile, "--timeout", "20");

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.Contains("authentication: certificate", result.Output, StringComparison.Ordinal);
        Assert.Contains("CN=demo-device-1", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_WithPsk_ShowsIdentity()
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?> { [$"Dtls:Psk:{PskIdentity}"] = PskKeyHex });

        var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--psk-identity", PskIdentity, "--psk-key", PskKeyHex, "--timeout", "20");

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.Contains("authentication: psk", result.Output, StringComparison.Ordinal);
        Assert.Contains($"psk-identity: {PskIdentity}", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LargeBodies_BlockWiseOverDtls()
    {
        await using var server = await InProcessServer.StartAsync();
        string dir = Path.Combine(server.DataDirectory, "io");
        Directory.CreateDirectory(dir);
        string output = Path.Combine(dir, "large.txt");
        byte[] body = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 400).Select(i => $"line {i:D4}\n")));
        string input = Path.Combine(dir, "post.txt");
        await File.WriteAllBytesAsync(input, body);

        var get = await CliRunner.RunAsync("coap", "get", server.SecureUri("/large"), "--trust", server.TrustAnchorFile, "-b", "64", "--out", output, "--timeout", "30");
        var post = await CliRunner.RunAsync("coap", "post", server.SecureUri("/test"), "--trust", server.TrustAnchorFile, "-b", "128", "-f", input, "-t", "text",
            "--out", Path.Combine(dir, "echo.txt"), "--timeout", "30");

        Assert.True(get.ExitCode == ExitCodes.Success, get.Describe());
        Assert.Equal(Hosting.DiagnosticResources.LargeBody.ToArray(), await File.ReadAllBytesAsync(output));
        Assert.True(post.ExitCode == ExitCodes.Success, post.Describe());
        Assert.Equal(body, server.Diagnostics.LastPost!.Payload.ToArray());
    }

    [Fact]
    public async Task WrongTrustAnchor_FailsWithUnknownCaAndExit3()
    {
        await using var server = await InProcessServer.StartAsync();
        using var other = new TestPki("Some Other CA");

        var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", other.CaFile, "--timeout", "20");

        Assert.True(result.ExitCode == ExitCodes.NoResponse, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"coapenroll: error: DTLS handshake with 127.0.0.1:{server.SecurePort} failed: unknown_ca", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OperatorCertificate_IsUsed_AndItsNamesAreChecked()
    {
        using var pki = new TestPki();
        var (certificate, key) = pki.Issue("server", "localhost");
        var (otherName, otherKey) = pki.Issue("elsewhere", "device.example", dnsNames: ["device.example"], loopbackAddress: false);
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["Dtls:CertificateFile"] = certificate, ["Dtls:KeyFile"] = key });
        await using var misnamed = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["Dtls:CertificateFile"] = otherName, ["Dtls:KeyFile"] = otherKey });

        var ok = await CliRunner.RunAsync("coap", "get", server.SecureUri("/test"), "--trust", pki.CaFile, "--timeout", "20");
        var demoAnchor = await CliRunner.RunAsync("coap", "get", server.SecureUri("/test"), "--trust", server.TrustAnchorFile, "--timeout", "20");
        var mismatch = await CliRunner.RunAsync("coap", "get", misnamed.SecureUri("/test"), "--trust", pki.CaFile, "--timeout", "20");

        Assert.True(ok.ExitCode == ExitCodes.Success, ok.Describe());
        Assert.True(demoAnchor.ExitCode == ExitCodes.NoResponse && demoAnchor.Error.Contains("unknown_ca", StringComparison.Ordinal), demoAnchor.Describe());
        Assert.True(mismatch.ExitCode == ExitCodes.NoResponse && mismatch.Error.Contains("bad_certificate (server certificate is not for '127.0.0.1')", StringComparison.Ordinal),
            mismatch.Describe());
    }

    [Fact]
    public async Task UntrustedClientCertificate_IsNotAuthenticated()
    {
        // The handshake finishes (the application decides what an unvalidated peer may do: EST answers 4.03),
        // and the session says the chain did not validate.
        await using var server = await InProcessServer.StartAsync();
        using var pki = new TestPki("Unknown Manufacturer CA");
        var (certificate, key) = pki.Issue("device", "rogue-device");

        var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", server.TrustAnchorFile,
            "--cert", certificate, "--key", key, "--timeout", "20");

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.Contains("authentication: unvalidated-certificate", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("authentication: certificate", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientTrustAnchorFiles_AcceptMoreClientCas()
    {
        using var pki = new TestPki("Partner Manufacturer CA");
        var (certificate, key) = pki.Issue("device", "partner-device");
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["Dtls:ClientTrustAnchorFiles:0"] = pki.CaFile });

        var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", server.TrustAnchorFile,
            "--cert", certificate, "--key", key, "--timeout", "20");

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.Contains("authentication: certificate", result.Output, StringComparison.Ordinal);
        Assert.Contains("CN=partner-device", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RejectUntrustedClientCertificates_FailsTheHandshake_TrustedDevicesStillConnect()
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["Dtls:RejectUntrustedClientCertificates"] = "true" });
        using var pki = new TestPki("Unknown Manufacturer CA");
        var (certificate, key) = pki.Issue("device", "rogue-device");

        var rogue = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", server.TrustAnchorFile,
            "--cert", certificate, "--key", key, "--timeout", "10");
        var device = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", server.TrustAnchorFile,
            "--cert", server.DemoDeviceCertificateFile, "--key", server.DemoDeviceKeyFile, "--timeout", "20");
        var anonymous = await CliRunner.RunAsync("coap", "get", server.SecureUri("/whoami"), "--trust", server.TrustAnchorFile, "--timeout", "20");

        Assert.True(rogue.ExitCode == ExitCodes.NoResponse && rogue.Error.Contains("bad_certificate", StringComparison.Ordinal), rogue.Describe());
        Assert.True(device.ExitCode == ExitCodes.Success && device.Output.Contains("authentication: certificate", StringComparison.Ordinal), device.Describe());
        Assert.True(anonymous.ExitCode == ExitCodes.Success && anonymous.Output.Contains("authentication: anonymous", StringComparison.Ordinal), anonymous.Describe());
    }

    [Fact]
    public async Task CoapListener_WhoamiSaysNoSecurity()
    {
        await using var server = await InProcessServer.StartAsync();

        var result = await CliRunner.RunAsync("coap", "get", server.Uri("/whoami"), "--timeout", "10");

        Assert.True(result.ExitCode == ExitCodes.Success && result.Output.Contains("transport: coap (no security)", StringComparison.Ordinal), result.Describe());
    }

    [Fact]
    public async Task DtlsDisabled_NoSecureListener()
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["Dtls:Enabled"] = "false" });

        // No coaps listener; the CA (and so its trust anchor) exists regardless, since it serves EST.
        Assert.Null(server.Service.SecureLocalEndPoint);
    }

    [Fact]
    public async Task KeyLogFiles_ServerAndClientLogTheSameSession()
    {
        string dir = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "keylog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string serverLog = Path.Combine(dir, "server-keys.log");
            string clientLog = Path.Combine(dir, "client-keys.log");
            await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["Dtls:KeyLogFile"] = serverLog });

            var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/test"), "--trust", server.TrustAnchorFile, "--timeout", "20", "--keylog", clientLog);

            Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
            string serverLines = (await File.ReadAllTextAsync(serverLog)).Trim();
            Assert.StartsWith("CLIENT_RANDOM ", serverLines, StringComparison.Ordinal);
            Assert.Equal(serverLines, (await File.ReadAllTextAsync(clientLog)).Trim());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
