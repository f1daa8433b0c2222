using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>
/// <c>coapenroll serve …</c> run through the real command line (in-process, like <see cref="CliRunner"/>) on 127.0.0.1, so that
/// serve's own options and <c>--Key=value</c> arguments are what configures it. The coaps:// port is picked here (the command
/// line has no way to report an ephemeral one), and so is the http:// port unless the arguments give <c>--http-port</c>; the
/// server is ready once a DTLS handshake with it succeeds and its HTTP port accepts connections.
/// </summary>
public sealed class CliServer : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(45);

    private readonly CancellationTokenSource _stop;
    private readonly Task<CliResult> _run;

    private CliServer(string dataDirectory, int securePort, int? httpPort, CancellationTokenSource stop, Task<CliResult> run)
    {
        DataDirectory = dataDirectory;
        SecurePort = securePort;
        HttpPort = httpPort;
        _stop = stop;
        _run = run;
    }

    public string DataDirectory { get; }

    public int SecurePort { get; }

    /// <summary>The http:// port picked here; null when the test gave <c>--http-port</c> itself.</summary>
    public int? HttpPort { get; }

    /// <summary>http://127.0.0.1:PORT followed by <paramref name="path"/>.</summary>
    public Uri HttpUri(string path = "/") =>
        new($"http://127.0.0.1:{(HttpPort ?? throw new InvalidOperationException("The test chose --http-port itself.")).ToString(CultureInfo.InvariantCulture)}{path}");

    /// <summary>coaps://127.0.0.1:PORT followed by <paramref name="path"/>.</summary>
    public string Uri(string path = "") => $"coaps://127.0.0.1:{SecurePort.ToString(CultureInfo.InvariantCulture)}{path}";

    public string TrustAnchor => Path.Combine(DataDirectory, "trust-anchor.pem");

    public string IssuingCa => Path.Combine(DataDirectory, "ca", "issuing.pem");

    public string DemoCertificate => Path.Combine(DataDirectory, "demo", "device.pem");

    public string DemoKey => Path.Combine(DataDirectory, "demo", "device.key");

    /// <summary>Starts <c>serve</c> with <paramref name="arguments"/> appended and waits until it answers on coaps://.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">serve exited (its output is in the message) or did not become ready.</exception>
    public static async Task<CliServer> StartAsync(params string[] arguments)
    {
        for (int attempt = 1; ; attempt++)
        {
            string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "serve-" + Guid.NewGuid().ToString("N"));
            int port = FreeUdpPort();
            int? httpPort = arguments.Contains("--http-port") ? null : FreeTcpPort();
            string[] http = httpPort is { } h ? ["--http-port", h.ToString(CultureInfo.InvariantCulture)] : [];
            string[] https = arguments.Contains("--https-port") ? [] : ["--https-port", "0"];
            var stop = new CancellationTokenSource();
            Task<CliResult> run = CliRunner.RunAsync(
                ["serve", "--bind", "127.0.0.1", "--coap-port", "0", .. http, .. https, "--coaps-port", port.ToString(CultureInfo.InvariantCulture), "--data", data,
                    "--Logging:LogLevel:Default=None", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=None", .. arguments],
                stop.Token);
            var server = new CliServer(data, port, httpPort, stop, run);
            CliResult? exited = await server.WaitUntilReadyAsync();
            if (exited is null)
            {
                return server;
            }

            await server.DisposeAsync();

            // Another process took the port between picking and binding it: pick again.
            if (attempt < 3 && exited.Error.Contains("Cannot listen", StringComparison.Ordinal))
            {
                continue;
            }

            throw new Xunit.Sdk.XunitException("coapenroll serve exited before it was ready: " + exited.Describe());
        }
    }

    /// <summary>Null once a handshake succeeds; serve's result when it exits first.</summary>
    private async Task<CliResult?> WaitUntilReadyAsync()
    {
        using var deadline = new CancellationTokenSource(s_startTimeout);
        CliResult? probe = null;
        while (!deadline.IsCancellationRequested)
        {
            if (_run.IsCompleted)
            {
                return await _run;
            }

            if (File.Exists(TrustAnchor))
            {
                probe = await CliRunner.RunAsync(["coap", "get", Uri("/.well-known/core"), "--trust", TrustAnchor, "--timeout", "2"], deadline.Token);
                if (probe.ExitCode == 0 && await HttpAcceptsAsync(deadline.Token))
                {
                    return null;
                }
            }

            await Task.Delay(100, CancellationToken.None);
        }

        throw new Xunit.Sdk.XunitException($"coapenroll serve did not answer on {Uri()} within {s_startTimeout.TotalSeconds} s; last probe: {probe?.Describe()}");
    }

    /// <summary>True when <see cref="HttpPort"/> accepts a TCP connection (HTTP starts after coaps), or when there is none.</summary>
    private async Task<bool> HttpAcceptsAsync(CancellationToken cancellationToken)
    {
        if (HttpPort is not { } port)
        {
            return true;
        }

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Stops serve (as Ctrl-C does) and returns what it printed and its exit code.</summary>
    public async Task<CliResult> StopAsync()
    {
        await _stop.CancelAsync();
        return await _run;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago (another process may take it before it is bound).</summary>
    internal static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A UDP port on 127.0.0.1 that was free a moment ago (another process may take it before it is bound).</summary>
    internal static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
