using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cli.Tests.Interop;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// One <c>coapenroll serve</c> process (the built program, as <see cref="ServeProcess"/> runs it: a fresh data directory, free
/// ports) with <c>Coap:PlugtestResources=true</c>, shared by the tests of one class; the plugtest suites run against its plain
/// coap:// endpoint, whose port is read from serve's start-up log. Tests that change a resource put it back, or use a resource
/// no other test of the class reads.
/// </summary>
public sealed partial class PlugtestServerFixture : IAsyncLifetime
{
    private static readonly TimeSpan s_logTimeout = TimeSpan.FromSeconds(15);

    private ServeProcess? _server;

    public string WorkingDirectory { get; } = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "plugtest-" + Guid.NewGuid().ToString("N"));

    public ServeProcess Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary>The UDP port of serve's coap:// endpoint.</summary>
    public int CoapPort { get; private set; }

    public IPEndPoint CoapEndPoint => new(IPAddress.Loopback, CoapPort);

    /// <summary>coap://127.0.0.1:PORT followed by <paramref name="pathAndQuery"/> (starting with /).</summary>
    public string Uri(string pathAndQuery) => $"coap://127.0.0.1:{CoapPort.ToString(CultureInfo.InvariantCulture)}{pathAndQuery}";

    /// <summary>A raw client on a new socket (so a new peer for duplicate detection), talking to serve's coap:// endpoint.</summary>
    public RawCoapClient NewRawClient() => new(CoapEndPoint);

    /// <summary>Runs <c>coap-client-notls</c> with <c>-v 9</c> (every PDU it sends and receives is logged) and its own 20 s limit.</summary>
    public Task<ProcessResult> RunLibCoapAsync(params string[] arguments) => LibCoap.RunClientAsync(20, ["-v", "9", .. arguments]);

    public async Task InitializeAsync()
    {
        // Found before serve starts, so that a missing libcoap fails every test with the install hint instead of a later, vaguer error.
        _ = LibCoap.ClientPath;
        Directory.CreateDirectory(WorkingDirectory);
        _server = await ServeProcess.StartAsync(WorkingDirectory, "--Coap:PlugtestResources=true", "--http-port", "off", "--https-port", "off");
        CoapPort = await WaitForCoapPortAsync(_server);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        try
        {
            Directory.Delete(WorkingDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The port of the line "CoAP server listening on coap://127.0.0.1:PORT", which serve logs before coaps:// listens.</summary>
    private static async Task<int> WaitForCoapPortAsync(ServeProcess server)
    {
        using var deadline = new CancellationTokenSource(s_logTimeout);
        while (!deadline.IsCancellationRequested)
        {
            if (CoapListeningLine().Match(server.Output) is { Success: true } match)
            {
                return int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture);
            }

            await Task.Delay(50, CancellationToken.None);
        }

        throw new Xunit.Sdk.XunitException($"serve logged no coap:// address:{Environment.NewLine}{server.Output}");
    }

    [GeneratedRegex(@"CoAP server listening on coap://127\.0\.0\.1:(?<port>\d+)")]
    private static partial Regex CoapListeningLine();
}
