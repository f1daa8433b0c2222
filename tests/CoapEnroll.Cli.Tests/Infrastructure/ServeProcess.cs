using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>
/// The built <c>coapenroll</c> program (coapenroll.dll in the test output, which references the Cli project) running
/// <c>serve</c> as a separate process in a working directory the test chooses, so that what serve reads from its working
/// directory (appsettings.json) is what configures it, as for an operator. It listens on 127.0.0.1 with coaps:// on a port
/// picked here, keeps its data in DIR/data, is ready once a DTLS handshake with it succeeds, and is killed on dispose.
/// </summary>
public sealed partial class ServeProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(45);

    private readonly Process _process;
    private readonly StringBuilder _output;

    private ServeProcess(Process process, StringBuilder output, string commandLine, string dataDirectory, int securePort)
    {
        _process = process;
        _output = output;
        CommandLine = commandLine;
        DataDirectory = dataDirectory;
        SecurePort = securePort;
    }

    public string CommandLine { get; }

    public string DataDirectory { get; }

    public int SecurePort { get; }

    /// <summary>coaps://127.0.0.1:PORT followed by <paramref name="path"/>.</summary>
    public string Uri(string path = "") => $"coaps://127.0.0.1:{SecurePort.ToString(CultureInfo.InvariantCulture)}{path}";

    public string TrustAnchor => Path.Combine(DataDirectory, "trust-anchor.pem");

    /// <summary>The command line and everything serve printed so far, for assertion messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return $"$ {CommandLine}{Environment.NewLine}{_output}";
            }
        }
    }

    /// <summary>Starts <c>coapenroll serve</c> in <paramref name="workingDirectory"/> with <paramref name="arguments"/> appended and waits until it answers on coaps://.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">serve exited (its output is in the message) or did not become ready.</exception>
    public static Task<ServeProcess> StartAsync(string workingDirectory, params string[] arguments)
    {
        string program = Path.Combine(AppContext.BaseDirectory, "coapenroll.dll");
        Assert.True(File.Exists(program), $"{program} is missing: the test project references src/CoapEnroll.Cli, whose build puts it there.");
        return StartAsync(DotnetHost, [program], null, workingDirectory, arguments);
    }

    /// <summary>
    /// Starts <c>serve</c> as <paramref name="fileName"/> <paramref name="programArguments"/> <c>serve …</c> (an installed tool's shim,
    /// <c>dotnet run --project … --</c>) with <paramref name="environment"/> on top of ours, and waits until it answers on coaps://.
    /// </summary>
    public static async Task<ServeProcess> StartAsync(string fileName, IReadOnlyList<string> programArguments, IReadOnlyDictionary<string, string>? environment,
        string workingDirectory, params string[] arguments)
    {
        string data = Path.Combine(workingDirectory, "data");
        for (int attempt = 1; ; attempt++)
        {
            int port = CliServer.FreeUdpPort();
            // HTTP and HTTPS on free ports, never 8080 or 8443 (tests run in parallel), unless the test chooses (e.g. --http-port off).
            string[] http = arguments.Contains("--http-port") ? [] : ["--http-port", "0"];
            string[] https = arguments.Contains("--https-port") ? [] : ["--https-port", "0"];
            string[] commandLine = [.. programArguments, "serve", "--bind", "127.0.0.1", "--coap-port", "0", .. http, .. https, "--coaps-port", port.ToString(CultureInfo.InvariantCulture),
                "--data", data, .. arguments];
            var output = new StringBuilder();
            Process process = ExternalProcess.StartCollecting(fileName, commandLine, output, environment, workingDirectory);
            var server = new ServeProcess(process, output, ExternalProcess.CommandLine(fileName, commandLine), data, port);
            bool exited;
            try
            {
                exited = !await server.WaitUntilReadyAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }

            if (!exited)
            {
                return server;
            }

            await server.DisposeAsync(); // waits for its output to end too
            string described = server.Output;

            // Another process took the port between picking and binding it: pick again.
            if (attempt < 3 && described.Contains("Cannot listen", StringComparison.Ordinal))
            {
                continue;
            }

            throw new Xunit.Sdk.XunitException($"coapenroll serve exited before it was ready:{Environment.NewLine}{described}");
        }
    }

    /// <summary>
    /// The port of http:// from serve's log line "HTTP server listening on http://127.0.0.1:PORT (TCP)", waiting for it (HTTP starts
    /// after coaps://, on which readiness is probed). Needs serve's log at Information (the default).
    /// </summary>
    /// <exception cref="Xunit.Sdk.XunitException">No such line within <paramref name="timeout"/> (default 15 s).</exception>
    public Task<int> WaitForHttpPortAsync(TimeSpan? timeout = null) => WaitForPortAsync(HttpListeningLine(), "HTTP", timeout);

    /// <summary>The https:// port serve logged ("HTTPS server listening on https://HOST:PORT"), waiting for the line.</summary>
    public Task<int> WaitForHttpsPortAsync(TimeSpan? timeout = null) => WaitForPortAsync(HttpsListeningLine(), "HTTPS", timeout);

    /// <summary>What follows <paramref name="label"/> on the first log line that holds it (e.g. "Enroll the demo device: "), waiting for the line.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">No such line within <paramref name="timeout"/> (default 15 s).</exception>
    public async Task<string> WaitForLogAsync(string label, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        while (!deadline.IsCancellationRequested)
        {
            string? line = Output.Split('\n').FirstOrDefault(l => l.Contains(label, StringComparison.Ordinal));
            if (line is not null)
            {
                return line[(line.IndexOf(label, StringComparison.Ordinal) + label.Length)..].TrimEnd('\r');
            }

            await Task.Delay(50, CancellationToken.None);
        }

        throw new Xunit.Sdk.XunitException($"serve logged no '{label}':{Environment.NewLine}{Output}");
    }

    private async Task<int> WaitForPortAsync(System.Text.RegularExpressions.Regex line, string name, TimeSpan? timeout)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        while (!deadline.IsCancellationRequested)
        {
            if (line.Match(Output) is { Success: true } match)
            {
                return int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture);
            }

            await Task.Delay(50, CancellationToken.None);
        }

        throw new Xunit.Sdk.XunitException($"serve logged no {name} address:{Environment.NewLine}{Output}");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"HTTP server listening on http://(?<host>\[[^\]]*\]|[^:/\s]+):(?<port>\d+)")]
    internal static partial System.Text.RegularExpressions.Regex HttpListeningLine();

    [System.Text.RegularExpressions.GeneratedRegex(@"HTTPS server listening on https://(?<host>\[[^\]]*\]|[^:/\s]+):(?<port>\d+)")]
    internal static partial System.Text.RegularExpressions.Regex HttpsListeningLine();

    /// <summary>The .NET host running these tests when it is the muxer, so that the program runs on the same runtime; otherwise dotnet from PATH.</summary>
    internal static string DotnetHost =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? path : "dotnet";

    /// <summary>True once a handshake succeeds; false when serve exits first.</summary>
    private async Task<bool> WaitUntilReadyAsync()
    {
        using var deadline = new CancellationTokenSource(s_startTimeout);
        CliResult? probe = null;
        while (!deadline.IsCancellationRequested)
        {
            if (_process.HasExited)
            {
                return false;
            }

            if (File.Exists(TrustAnchor))
            {
                probe = await CliRunner.RunAsync(["coap", "get", Uri("/.well-known/core"), "--trust", TrustAnchor, "--timeout", "2"], deadline.Token);
                if (probe.ExitCode == 0)
                {
                    return true;
                }
            }

            await Task.Delay(100, CancellationToken.None);
        }

        throw new Xunit.Sdk.XunitException($"coapenroll serve did not answer on {Uri()} within {s_startTimeout.TotalSeconds} s; last probe: {probe?.Describe()}"
            + $"{Environment.NewLine}{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        ExternalProcess.Kill(_process);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }

        _process.Dispose();
    }
}
