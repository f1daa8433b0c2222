using System.Globalization;
using System.Text.RegularExpressions;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// One <c>coapenroll serve</c> process (the real program, a fresh data directory, free ports) with the plugtest resources on
/// (<c>Coap:PlugtestResources=true</c>), shared by the tests of one class: the block-wise, observe and link-format test
/// descriptions of the ETSI/F-Interop CoAP plugtest run against its coap:// port.
/// </summary>
public partial class BolServerFixture : IAsyncLifetime
{
    private ServeProcess? _server;

    public string WorkingDirectory { get; } = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "plugtest-bol-" + Guid.NewGuid().ToString("N"));

    public ServeProcess Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <summary>The coap:// port serve logged.</summary>
    public int Port { get; private set; }

    /// <summary>coap://127.0.0.1:PORT followed by <paramref name="pathAndQuery"/>.</summary>
    public string Uri(string pathAndQuery) => $"coap://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}{pathAndQuery}";

    /// <summary>A client of raw datagrams connected to the server's coap:// port; dispose it.</summary>
    public BolRawClient CreateRawClient() => new(Port);

    /// <summary>More <c>--Key=value</c> arguments for serve.</summary>
    protected virtual string[] ExtraArguments => [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(WorkingDirectory);
        _server = await ServeProcess.StartAsync(WorkingDirectory, ["--Coap:PlugtestResources=true", .. ExtraArguments]);
        Port = await WaitForCoapPortAsync(_server);
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

    /// <summary>The port of serve's log line "CoAP server listening on coap://127.0.0.1:PORT" (it binds port 0).</summary>
    private static async Task<int> WaitForCoapPortAsync(ServeProcess server)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
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
