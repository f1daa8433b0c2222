using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary><c>serve</c>'s HTTP listener: <c>--http-port</c>, its log line, 404 for what nothing maps, <c>--http-port off</c>.</summary>
public sealed class ServeHttpTests
{
    [Fact]
    public async Task HttpPort0_LogsTheHttpUrl_AndAnUnknownPathIs404ForCurl()
    {
        using var dir = new TempDirectory("coapenroll-http-");
        await using var server = await ServeProcess.StartAsync(dir.Path, "--http-port", "0");
        int port = await server.WaitForHttpPortAsync();
        Assert.NotEqual(8080, port);
        Assert.Contains($"HTTP server listening on http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)} (TCP)", server.Output, StringComparison.Ordinal);

        string curl = RequiredTool.Find("curl", "curl");
        ProcessResult result = await ExternalProcess.RunAsync(curl,
            ["-sS", "-o", "/dev/null", "-w", "%{http_code}", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/nope"], TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, $"{result.CommandLine}: {result.StandardError}{Environment.NewLine}{server.Output}");
        Assert.Equal("404", result.StandardOutput.Trim());
    }

    [Fact]
    public async Task HttpPortOff_ListensOnNoHttpPort()
    {
        using var dir = new TempDirectory("coapenroll-http-");
        await using var server = await ServeProcess.StartAsync(dir.Path, "--http-port", "off");

        // HTTP starts after coaps (the readiness probe): wait for its line, then make sure it is the "disabled" one.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (!server.Output.Contains("HTTP server disabled", StringComparison.Ordinal) && !deadline.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
        }

        Assert.Contains("HTTP server disabled (Http:Enabled=false)", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("HTTP server listening", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpPortInUse_ExitsWithOneLine()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var dir = new TempDirectory("coapenroll-http-");

        var result = await CliRunner.RunAsync("serve", "--bind", "127.0.0.1", "--coap-port", "0", "--coaps-port", "off", "--https-port", "0",
            "--http-port", port.ToString(CultureInfo.InvariantCulture), "--data", dir.File("data"), "--Logging:LogLevel:Default=None");

        Assert.True(result.ExitCode == ExitCodes.Failure, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"coapenroll: error: Cannot listen on TCP 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)} (http://, Http:Port): Address already in use.", line);
    }

    [Fact]
    public async Task CliServer_PicksTheHttpPort_AndServeAnswersOnIt()
    {
        await using var server = await CliServer.StartAsync();
        Assert.NotNull(server.HttpPort);
        using var client = new HttpClient();
        using HttpResponseMessage response = await client.GetAsync(server.HttpUri("/nope"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task InProcessHost_ServesHttpOnAFreePortOfItsBindAddress()
    {
        await using var server = await InProcessServer.StartAsync();
        Assert.Equal(IPAddress.Loopback, server.Http.LocalEndPoint!.Address);
        Assert.NotEqual(8080, server.Http.LocalEndPoint.Port);
        using var client = new HttpClient { BaseAddress = server.Http.LocalUri };
        using HttpResponseMessage response = await client.GetAsync(new Uri("/nope", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
