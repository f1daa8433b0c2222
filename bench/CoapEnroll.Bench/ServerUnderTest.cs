using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>
/// A server the <c>serve-load</c> mode measures, as a separate process on 127.0.0.1 and free ports: <c>coapenroll serve</c>
/// with its shipped defaults (a fresh data directory, only the arguments a scenario needs), or libcoap 4.3.1's
/// <c>coap-server-notls</c> / <c>coap-server-openssl</c>. Killed, and its data directory deleted, on dispose.
/// </summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    /// <summary>The PSK identity of the DTLS scenario; libcoap's <c>-k</c> takes any identity.</summary>
    public const string PskIdentity = "bench";

    /// <summary>The PSK of the DTLS scenario: these 16 ASCII bytes (libcoap's <c>-k</c> takes the key as text).</summary>
    public const string PskText = "coapenroll-bench";

    private const int KeptOutputLines = 200;

    /// <summary>How many times serve (or libcoap, or openssl s_server) is started on new ports when one picked for it was taken before it bound it.</summary>
    internal const int MaxServeStarts = 3;

    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private ServerUnderTest(string name, Process process, string commandLine, int coapPort, int? coapsPort, string path, string? dataDirectory)
    {
        Name = name;
        _process = process;
        CommandLine = commandLine;
        CoapPort = coapPort;
        CoapsPort = coapsPort;
        Path = path;
        DataDirectory = dataDirectory;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public string CommandLine { get; }

    public int Pid => _process.Id;

    public int CoapPort { get; }

    /// <summary>The DTLS port, when the server has one.</summary>
    public int? CoapsPort { get; }

    /// <summary>The small GET resource the scenarios request: <c>/test</c> on serve, <c>/</c> on libcoap.</summary>
    public string Path { get; }

    /// <summary>serve's data directory (CA, demo device identity).</summary>
    public string? DataDirectory { get; }

    public IPEndPoint CoapEndPoint => new(IPAddress.Loopback, CoapPort);

    public IPEndPoint CoapsEndPoint => new(IPAddress.Loopback, CoapsPort ?? throw new InvalidOperationException($"{Name} has no DTLS port."));

    public static byte[] PskKey => Encoding.ASCII.GetBytes(PskText);

    /// <summary>
    /// Starts <c>dotnet COAPENROLL_DLL serve</c> with a fresh data directory and waits until it answers. <paramref name="diagnosisArguments"/>
    /// are for finding out why a figure is what it is, never for the figures themselves. <paramref name="environment"/> is either that
    /// too (serve-load's <c>--serve-env</c>) or the bench's own probe (sen-cost's startup hook), which reads counters and changes no
    /// setting of serve.
    /// </summary>
    /// <para>With <paramref name="http"/>, serve's HTTP listener (CMP over HTTP) gets a free port too (<c>--http-port 0</c>): see
    /// <see cref="WaitForHttpBaseAddressAsync"/>.</para>
    /// <para><paramref name="dataDirectory"/>, when given, is a data directory the caller prepared (nodes-scale: a copy of one CA for
    /// every node) used instead of a fresh one; it is deleted on dispose all the same.</para>
    /// <para><paramref name="cpus"/>, when given, is a CPU list for <c>taskset -c</c>: serve and every thread it starts run only there
    /// (taskset execs dotnet, so <see cref="Pid"/> is serve's). The runtime then sizes itself for those CPUs, as on a machine that small.</para>
    public static async Task<ServerUnderTest> StartServeAsync(string coapenrollDll, bool psk, IReadOnlyList<string>? diagnosisArguments = null,
        IReadOnlyDictionary<string, string>? environment = null, bool http = false, IReadOnlyList<string>? scenarioArguments = null,
        string? dataDirectory = null, string? cpus = null)
    {
        string data = dataDirectory ?? Directory.CreateTempSubdirectory("coapenroll-load-").FullName;

        return await StartOnFreshPortsAsync("serve", retry =>
        {
            List<string> arguments = ServeArguments(coapenrollDll, data, psk, diagnosisArguments, http, scenarioArguments, cpus, out int coapPort, out int coapsPort);
            return StartAsync("serve", cpus is null ? "dotnet" : "taskset", arguments, coapPort, coapsPort, "/test", data, environment, retry);
        });
    }

    /// <summary>
    /// Runs <paramref name="start"/> (which picks its ports) until it returns a server. The ports are free when picked and bound by
    /// the process only later: another process can take one in between, the process then exits reporting the address in use, and
    /// <paramref name="start"/> returns null; it runs again on new ports, at most <see cref="MaxServeStarts"/> times (the last start
    /// throws instead: its argument is false).
    /// </summary>
    private static async Task<ServerUnderTest> StartOnFreshPortsAsync(string name, Func<bool, Task<ServerUnderTest?>> start)
    {
        for (int attempt = 1; ; attempt++)
        {
            if (await start(attempt < MaxServeStarts) is { } server)
            {
                return server;
            }

            Console.Error.WriteLine($"{name} exited: a port picked for it was taken before it bound it (start {attempt} of {MaxServeStarts}); starting it again on new ports");
        }
    }

    private static List<string> ServeArguments(string coapenrollDll, string data, bool psk, IReadOnlyList<string>? diagnosisArguments, bool http,
        IReadOnlyList<string>? scenarioArguments, string? cpus, out int coapPort, out int coapsPort)
    {
        coapPort = FreeUdpPort();
        coapsPort = FreeUdpPort(except: coapPort);
        var arguments = new List<string>
        {
            coapenrollDll, "serve", "--data", data, "--bind", "127.0.0.1",
            "--coap-port", coapPort.ToString(CultureInfo.InvariantCulture), "--coaps-port", coapsPort.ToString(CultureInfo.InvariantCulture),
            "--http-port", "0",
            // A free port rather than the shipped 8443, so that two serves (registrar-cost) or another program on 8443 do not collide.
            "--https-port", FreeTcpPort().ToString(CultureInfo.InvariantCulture),
        };
        if (psk)
        {
            arguments.Add($"--Dtls:Psk:{PskIdentity}={Convert.ToHexString(PskKey)}");
        }

        if (http)
        {
            arguments.AddRange(["--http-port", "0"]);
        }

        arguments.AddRange(scenarioArguments ?? []);
        arguments.AddRange(diagnosisArguments ?? []);
        if (cpus is not null)
        {
            arguments.InsertRange(0, ["-c", cpus, "dotnet"]);
        }

        return arguments;
    }

    /// <summary>Starts <c>coap-server-notls</c>, or <c>coap-server-openssl -k KEY</c> (coaps on the port + 1), and waits until it answers.</summary>
    public static async Task<ServerUnderTest> StartLibCoapAsync(bool dtls, string? program = null)
    {
        program ??= dtls ? "coap-server-openssl" : "coap-server-notls";
        return await StartOnFreshPortsAsync(program, retry =>
        {
            int port = dtls ? FreeUdpPortPair() : FreeUdpPort();
            var arguments = new List<string> { "-A", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-v", "0" };
            if (dtls)
            {
                arguments.AddRange(["-k", PskText]);
            }

            return StartAsync(program, program, arguments, port, dtls ? port + 1 : null, "/", null, retryWhenPortInUse: retry);
        });
    }

    /// <summary>
    /// serve's HTTP base address (http://127.0.0.1:PORT) from its log line "HTTP server listening on http://…", for a server started with
    /// <c>--http-port 0</c>.
    /// </summary>
    public async Task<Uri> WaitForHttpBaseAddressAsync(TimeSpan limit)
    {
        var pattern = new System.Text.RegularExpressions.Regex(@"HTTP server listening on (http://[^\s/]+)");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            lock (_output)
            {
                foreach (string line in _output)
                {
                    if (pattern.Match(line) is { Success: true } match)
                    {
                        return new Uri(match.Groups[1].Value + "/");
                    }
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{CommandLine} logged no HTTP address within {limit.TotalSeconds} s:{Environment.NewLine}{RecentOutput()}");
    }

    /// <summary>The last lines the server wrote, for error messages.</summary>
    public string RecentOutput()
    {
        lock (_output)
        {
            return string.Join(Environment.NewLine, _output);
        }
    }

    public ValueTask DisposeAsync() => StopAsync(deleteData: true);

    /// <summary>Whether the process exited saying an address it was to bind was in use (a port picked for it was taken meanwhile).</summary>
    internal static bool ReportsAddressInUse(string output) =>
        output.Contains("Address already in use", StringComparison.OrdinalIgnoreCase)
        || output.Contains(nameof(SocketError.AddressAlreadyInUse), StringComparison.Ordinal)
        // libcoap 4.3's coap-server-* when it cannot bind the port it was given on the address it was given (exit 255); the bench
        // always gives 127.0.0.1, so a taken port is the cause.
        || output.Contains("no context available for interface", StringComparison.Ordinal);

    private async ValueTask StopAsync(bool deleteData)
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
        }

        _process.Dispose();
        if (deleteData && DataDirectory is not null)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// Starts the process and waits until it answers. With <paramref name="retryWhenPortInUse"/>, a process that exits reporting an
    /// address in use is stopped, its data directory kept, and null returned, for the caller to try other ports.
    /// </summary>
    private static async Task<ServerUnderTest?> StartAsync(string name, string program, List<string> arguments, int coapPort, int? coapsPort,
        string path, string? dataDirectory, IReadOnlyDictionary<string, string>? environment = null, bool retryWhenPortInUse = false)
    {
        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[variable] = value;
        }

        string commandLine = string.Concat((environment ?? new Dictionary<string, string>()).Select(v => $"{v.Key}={v.Value} "))
            + program + " " + string.Join(' ', arguments);
        Process process = Process.Start(info) ?? throw new InvalidOperationException("Could not start " + commandLine);
        var server = new ServerUnderTest(name, process, commandLine, coapPort, coapsPort, path, dataDirectory);
        try
        {
            await server.WaitUntilAnswersAsync(TimeSpan.FromSeconds(120));
            return server;
        }
        catch (InvalidOperationException) when (retryWhenPortInUse && server._process.HasExited)
        {
            await server._process.WaitForExitAsync(); // and for the end of its output
            if (ReportsAddressInUse(server.RecentOutput()))
            {
                await server.StopAsync(deleteData: false);
                return null;
            }

            await server.DisposeAsync();
            throw;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a CON GET of <see cref="Path"/> every 250 ms from a socket of its own until a 2.05 comes back.</summary>
    private async Task WaitUntilAnswersAsync(TimeSpan limit)
    {
        byte[] request = LoadClient.CreateTemplate(Path);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var buffer = new byte[2048];
        var clock = Stopwatch.StartNew();
        for (ushort messageId = 1; clock.Elapsed < limit; messageId++)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{CommandLine} exited with {_process.ExitCode}:{Environment.NewLine}{RecentOutput()}");
            }

            BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(2), messageId);
            await socket.SendToAsync(request, CoapEndPoint);
            using var attempt = new CancellationTokenSource(TimeSpan.FromMilliseconds(250));
            try
            {
                while (true)
                {
                    SocketReceiveFromResult result = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), attempt.Token);
                    if (CoapMessageDecoder.TryReadHeader(buffer.AsSpan(0, result.ReceivedBytes), out _, out CoapCode code, out ushort id)
                        && id == messageId && code == CoapCode.Content)
                    {
                        // Another program on the port (one that bound it first) may have answered: measure only the process started.
                        if (!UdpSocketStats.IsBoundBy(_process.Id, CoapEndPoint.Port))
                        {
                            // Ours then fails to bind and exits (a caller may try other ports); give it the time to.
                            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                            await _process.WaitForExitAsync(exit.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                            throw new InvalidOperationException($"{CoapEndPoint} answered, but not from {CommandLine} (pid {_process.Id}): another program holds the port");
                        }

                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (SocketException)
            {
                // ICMP port unreachable before the server binds.
                await Task.Delay(250);
            }
        }

        throw new TimeoutException($"{CommandLine} did not answer GET {Path} within {limit.TotalSeconds} s:{Environment.NewLine}{RecentOutput()}");
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > KeptOutputLines)
            {
                _output.Dequeue();
            }
        }
    }

    /// <summary>A TCP port free on 127.0.0.1 now.</summary>
    public static int FreeTcpPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>The TCP port of serve's HTTPS listener (the <c>--https-port</c> argument), or null.</summary>
    public int? HttpsPort
    {
        get
        {
            string[] parts = CommandLine.Split(' ');
            int index = Array.LastIndexOf(parts, "--https-port");
            return index >= 0 && index + 1 < parts.Length && int.TryParse(parts[index + 1], CultureInfo.InvariantCulture, out int port) ? port : null;
        }
    }

    internal static int FreeUdpPort(int except = -1)
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            if (port != except)
            {
                return port;
            }
        }

        throw new InvalidOperationException("No free UDP port.");
    }

    /// <summary>A free port P with P + 1 free too (libcoap's DTLS builds listen for coaps on P + 1).</summary>
    private static int FreeUdpPortPair()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int port = FreeUdpPort();
            if (port >= 65535)
            {
                continue;
            }

            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                probe.Bind(new IPEndPoint(IPAddress.Loopback, port + 1));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("No free pair of UDP ports.");
    }
}
