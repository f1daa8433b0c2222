using System.Net;
using System.Net.Sockets;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;
using CoapEnroll.Testing;
using CoapEnroll.Transport;

namespace CoapEnroll.Cli.Tests;

/// <summary>The <c>serve</c> command and the host it builds.</summary>
public class ServeTests
{
    [Fact]
    public async Task Host_CreatesDataDirectoryAndListens()
    {
        await using var server = await InProcessServer.StartAsync();

        Assert.True(Directory.Exists(server.DataDirectory));
        Assert.NotEqual(0, server.Port);
    }

    [Fact]
    public async Task Host_DualStackBindServesIPv4AndIPv6()
    {
        if (!Socket.OSSupportsIPv6)
        {
            Assert.Fail("This test needs IPv6 on the loopback interface.");
        }

        await using var server = await InProcessServer.StartAsync(bind: "::");
        foreach (var address in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
        {
            var remote = new IPEndPoint(address, server.Port);
            await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote));
            var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/test"), remote, default);
            Assert.Equal(CoapCode.Content, response.Code);
        }
    }

    [Fact]
    public async Task ServeCommand_RunsUntilCancelledAndExits0()
    {
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1.5));

        var result = await CliRunner.RunAsync(
            ["serve", "--bind", "127.0.0.1", "--coap-port", "0", "--http-port", "0", "--https-port", "0", "--coaps-port", "off", "--data", data, "--Logging:LogLevel:Default=Warning"], stop.Token);

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.True(Directory.Exists(data));
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task ServeCommand_PortOff_SaysWhatIsDisabled()
    {
        // "off" disables a listener explicitly, and the start-up log says so instead of staying silent.
        string said = await RunUntilStartedAsync("--coap-port", "off", "--coaps-port", "off", "--http-port", "0", "--https-port", "off");

        Assert.Contains("coap:// disabled (Coap:Enabled=false, which --coap-port off sets)", said, StringComparison.Ordinal);
        Assert.Contains("coaps:// disabled (Dtls:Enabled=false, which --coaps-port off sets)", said, StringComparison.Ordinal);
        Assert.DoesNotContain("listening on coap://", said, StringComparison.Ordinal);
        Assert.DoesNotContain("listening on coaps://", said, StringComparison.Ordinal);
        Assert.Contains("HTTP server listening on http://127.0.0.1:", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServeCommand_Port0_PicksAFreePortForCoapAndCoapsAlikeAndLogsIt()
    {
        string said = await RunUntilStartedAsync("--coap-port", "0", "--coaps-port", "0", "--http-port", "off", "--https-port", "off");

        // 0 is a free port on both, never 0 itself, and never the defaults (5683/5684 may be taken by another test's server).
        int coap = int.Parse(System.Text.RegularExpressions.Regex.Match(said, @"listening on coap://127\.0\.0\.1:(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int coaps = int.Parse(System.Text.RegularExpressions.Regex.Match(said, @"listening on coaps://127\.0\.0\.1:(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(coap > 0 && coaps > 0 && coap != coaps, said);
        Assert.DoesNotContain("disabled (Dtls:Enabled=false", said, StringComparison.Ordinal);
        Assert.Contains($"coaps://127.0.0.1:{coaps}/.well-known/core", said, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configuration_CoapEnabledFalse_ServesCoapsOnly()
    {
        await using var server = await Est.EstServer.StartAsync(new Dictionary<string, string?> { ["Coap:Enabled"] = "false" });

        Assert.Null(server.Service.LocalEndPoint);
        var result = await CliRunner.RunAsync("est", "crts", "--server", server.Uri(), "--trust", server.TrustAnchor);
        Assert.True(result.ExitCode == ExitCodes.Success && result.Output.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal), result.Describe());
    }

    /// <summary>Runs serve as its own process (its log goes to the process's console) until it has started; returns what it said.</summary>
    private static async Task<string> RunUntilStartedAsync(params string[] ports)
    {
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));
        string program = Path.Combine(AppContext.BaseDirectory, "coapenroll.dll");
        var output = new System.Text.StringBuilder();
        using System.Diagnostics.Process process = ExternalProcess.StartCollecting(ServeProcess.DotnetHost,
            [program, "serve", "--bind", "127.0.0.1", .. ports, "--data", data], output);
        string said;
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            do
            {
                await Task.Delay(100, CancellationToken.None);
                lock (output)
                {
                    said = output.ToString();
                }
            }
            while (!said.Contains("Application started", StringComparison.Ordinal) && !process.HasExited && !deadline.IsCancellationRequested);
        }
        finally
        {
            ExternalProcess.Kill(process);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        Assert.True(said.Contains("Application started", StringComparison.Ordinal), said);
        Directory.Delete(data, recursive: true);
        return said;
    }

    [Fact]
    public async Task ServeCommand_WithCoaps_CreatesDemoCredentialsAndExits0()
    {
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));

        var result = await CliRunner.RunAsync(
            ["serve", "--bind", "127.0.0.1", "--coap-port", "0", "--http-port", "0", "--https-port", "0", "--Dtls:Port=0", "--data", data, "--Logging:LogLevel:Default=Warning"], stop.Token);

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        Assert.True(File.Exists(Path.Combine(data, "trust-anchor.pem")) && File.Exists(Path.Combine(data, "server.pem")) && File.Exists(Path.Combine(data, "server.key")));
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task ServeCommand_BadDtlsCertificateFile_ExitsWithOneLine()
    {
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));

        var result = await CliRunner.RunAsync("serve", "--bind", "127.0.0.1", "--coap-port", "0", "--http-port", "0", "--https-port", "0", "--Dtls:Port=0", "--data", data,
            "--Dtls:CertificateFile=/nonexistent/server.pem", "--Dtls:KeyFile=/nonexistent/server.key", "--Logging:LogLevel:Default=None");

        // Exit 2: the files the configuration names; a supervisor restarting it would only fail again.
        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("coapenroll: error: Cannot load the server's certificates", line, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/server.pem", line, StringComparison.Ordinal);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task ServeCommand_PortInUse_ExitsWithOneLine()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));

        var result = await CliRunner.RunAsync("serve", "--bind", "127.0.0.1", "--coap-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--http-port", "0", "--https-port", "0",
            "--coaps-port", "off", "--data", data, "--Logging:LogLevel:Default=None");

        Assert.True(result.ExitCode == ExitCodes.Failure, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"coapenroll: error: Cannot listen on UDP 127.0.0.1:{port} (coap://, Coap:Port): Address already in use.", line);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task ACannotStart_IsOneLineOnStderr_WithoutTheHostsOwnErrorAndStackTraceOnStdout()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        using var directory = new TempDirectory("coapenroll-cannot-start-");

        // As a user runs it, with the console logging serve ships with.
        ProcessResult result = await ExternalProcess.RunAsync(ServeProcess.DotnetHost,
            [Path.Combine(AppContext.BaseDirectory, "coapenroll.dll"), "serve", "--bind", "127.0.0.1", "--coap-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--coaps-port", "0", "--http-port", "0", "--https-port", "0", "--data", directory.File("data")], TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == ExitCodes.Failure, result.Describe());
        Assert.Equal($"coapenroll: error: Cannot listen on UDP 127.0.0.1:{port} (coap://, Coap:Port): Address already in use.", result.StandardError.Trim());
        Assert.DoesNotContain("Hosting failed to start", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Data directory: ", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFirstStartThatFailsOnATakenPort_TheNextStartPrintsTheFirstStartHints_AndOnlyThatOne()
    {
        using var directory = new TempDirectory("coapenroll-hints-");
        string data = directory.File("data");
        using (var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
            CliResult failed = await CliRunner.RunAsync("serve", "--bind", "127.0.0.1", "--coap-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--http-port", "0", "--https-port", "0", "--coaps-port", "0", "--data", data, "--Logging:LogLevel:Default=None");
            Assert.True(failed.ExitCode == ExitCodes.Failure, failed.Describe());
        }

        // The CA was made before the port was found taken.
        Assert.True(File.Exists(Path.Combine(data, "trust-anchor.pem")));

        await using (ServeProcess second = await ServeProcess.StartAsync(directory.Path))
        {
            await second.WaitForLogAsync("Enroll the demo device: ");
        }

        await using ServeProcess third = await ServeProcess.StartAsync(directory.Path);
        await third.WaitForLogAsync("Try: ");
        Assert.DoesNotContain("Enroll the demo device: ", third.Output, StringComparison.Ordinal);
    }

    [Fact]
    public Task ServeCommand_UnworkableReassemblyBound_ExitsWithUsageNamingTheKey() =>
        // A strangers' share as large as the whole would let strangers take all of it.
        AssertRefusedAsync("Coap:MaxUnauthenticatedReassemblyBytesTotal must be less than Coap:MaxReassemblyBytesTotal", beforeTheDataDirectory: true,
            "--Coap:MaxUnauthenticatedReassemblyBytesTotal=67108864");

    [Theory]
    [InlineData("--Admin:Enabled=true", "Admin:Enabled is true but no operator can authenticate")]
    [InlineData("--Admin:Enabled=true --Admin:User=operator --Admin:PasswordHash=garbage", "Admin:PasswordHash is not a hash made by 'coapenroll admin hash-password'")]
    [InlineData("--Est:MaxFailedBasicLogins=5", "Est:MaxFailedBasicLoginsPerAddress must be at least 1, Est:MaxFailedBasicLogins at least that")]
    public Task ServeCommand_UnusableAdminOrBasicLimits_ExitsWithUsage_BeforeAnythingListens(string settings, string message) =>
        // It crashed with an unhandled exception (exit 134, which a supervisor restarts) after the listeners had started.
        AssertRefusedAsync(message, beforeTheDataDirectory: true, settings.Split(' '));

    [Fact]
    public Task ServeCommand_AdminWithoutHttps_ExitsWithUsage() =>
        // The operator page is served only on https://: enabled with that listener off, it would be unreachable without a word.
        AssertRefusedAsync("Admin:Enabled is true but the https:// listener is off", beforeTheDataDirectory: true,
            "--Admin:Enabled=true", "--Admin:ClientCertificateThumbprints:0=" + new string('a', 64), "--https-port", "off");

    [Theory]
    [InlineData("--Coap:DiagnosticResources=yes", "Failed to convert configuration value 'yes' at 'Coap:DiagnosticResources' to type 'System.Boolean'")]
    [InlineData("--Logging:LogLevel:CoapEnroll=Verbose", "Logging: Configuration value 'Verbose' is not supported (a level is Trace")]
    [InlineData("--Cmp:ConfirmWaitTime=5min", "Cannot start: Failed to convert configuration value '5min' at 'Cmp:ConfirmWaitTime'")]
    public Task ServeCommand_ValueOfTheWrongType_ExitsWithUsage_NotACrash(string setting, string message) =>
        // Each crashed with an unhandled exception (exit 134), which the systemd unit restarts every 5 s; exit 2 it does not. A
        // section the services read as they start (Cmp) is refused after the data directory was made.
        AssertRefusedAsync(message, beforeTheDataDirectory: false, setting);

    /// <summary>
    /// Runs serve on loopback with <paramref name="settings"/> (which may name --https-port themselves) and asserts exit 2 with one
    /// line that starts with <paramref name="message"/>; with <paramref name="beforeTheDataDirectory"/>, that nothing was created.
    /// </summary>
    private static async Task AssertRefusedAsync(string message, bool beforeTheDataDirectory, params string[] settings)
    {
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));
        string[] https = settings.Contains("--https-port") ? [] : ["--https-port", "0"];
        var result = await CliRunner.RunAsync(["serve", "--bind", "127.0.0.1", "--coap-port", "0", "--http-port", "0", .. https, "--coaps-port", "off",
            "--data", data, "--Logging:LogLevel:Default=None", .. settings]);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("coapenroll: error: " + message, line, StringComparison.Ordinal);
        if (beforeTheDataDirectory)
        {
            Assert.False(Directory.Exists(data));
        }
        else if (Directory.Exists(data))
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
