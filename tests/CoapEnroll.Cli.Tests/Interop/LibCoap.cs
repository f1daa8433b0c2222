using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// The libcoap 4.3 example programs from Debian's libcoap3-bin: the no-TLS builds, and the DTLS builds on
/// OpenSSL and on GnuTLS (two independent DTLS stacks).
/// </summary>
public static class LibCoap
{
    public const string Package = "libcoap3-bin";

    /// <summary>The DTLS flavours of the example programs: coap-client-openssl, coap-client-gnutls, ….</summary>
    public static readonly string[] DtlsFlavours = ["openssl", "gnutls"];

    public static string ClientPath => RequiredTool.Find("coap-client-notls", Package);

    public static string ServerPath => RequiredTool.Find("coap-server-notls", Package);

    public static string DtlsClientPath(string flavour) => RequiredTool.Find($"coap-client-{flavour}", Package);

    public static string DtlsServerPath(string flavour) => RequiredTool.Find($"coap-server-{flavour}", Package);

    /// <summary>Runs <c>coap-client-{flavour}</c> with its own <c>-B</c> limit, killed 15 s after that.</summary>
    public static Task<ProcessResult> RunDtlsClientAsync(string flavour, int waitSeconds, params string[] arguments)
        => RunDtlsClientAsync(flavour, waitSeconds, null, arguments);

    /// <summary>As <see cref="RunDtlsClientAsync(string, int, string[])"/>, with <paramref name="environment"/> set for the client (e.g. OPENSSL_CONF).</summary>
    public static Task<ProcessResult> RunDtlsClientAsync(string flavour, int waitSeconds, IReadOnlyDictionary<string, string>? environment, params string[] arguments)
        => ExternalProcess.RunAsync(DtlsClientPath(flavour), ["-B", waitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments],
            TimeSpan.FromSeconds(waitSeconds + 15), environment: environment);

    /// <summary>
    /// OPENSSL_CONF for an OpenSSL-based peer (coap-client-openssl, coap-server-openssl) whose every SSL_CTX has
    /// SSL_OP_NO_EXTENDED_MASTER_SECRET: a legacy DTLS stack without RFC 7627 (neither program has a flag for it).
    /// </summary>
    public static IReadOnlyDictionary<string, string> OpenSslWithoutExtendedMasterSecret(string directory)
    {
        string path = Path.Combine(directory, "openssl-no-ems.cnf");
        File.WriteAllText(path, """
            openssl_conf = openssl_init
            [openssl_init]
            ssl_conf = ssl_section
            [ssl_section]
            system_default = system_default_section
            [system_default_section]
            Options = -ExtendedMasterSecret

            """);
        return new Dictionary<string, string> { ["OPENSSL_CONF"] = path };
    }

    /// <summary>
    /// Runs <c>coap-client-notls</c>; <paramref name="waitSeconds"/> is its own <c>-B</c> limit and
    /// the process is killed 15 s after that.
    /// </summary>
    public static Task<ProcessResult> RunClientAsync(int waitSeconds, params string[] arguments)
        => ExternalProcess.RunAsync(ClientPath, ["-B", waitSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments],
            TimeSpan.FromSeconds(waitSeconds + 15));
}

/// <summary>
/// <c>coap-server-notls</c> (or a DTLS build) on 127.0.0.1 and a free port, killed on dispose. The DTLS builds
/// also listen for coaps on <see cref="SecurePort"/> = port + 1.
/// </summary>
public sealed class LibCoapServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private LibCoapServer(Process process, StringBuilder output, int port, string commandLine)
    {
        _process = process;
        _output = output;
        Port = port;
        CommandLine = commandLine;
    }

    public int Port { get; }

    /// <summary>Where a DTLS build listens for coaps (libcoap's rule: the coap port + 1).</summary>
    public int SecurePort => Port + 1;

    public string SecureUri(string path) => $"coaps://127.0.0.1:{SecurePort}/{path.TrimStart('/')}";

    public string CommandLine { get; }

    public string Uri(string path) => $"coap://127.0.0.1:{Port}/{path.TrimStart('/')}";

    /// <summary>What the server logged so far (it runs with <c>-v 6</c>), for assertion messages.</summary>
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

    /// <summary>Starts the server and waits until it answers a GET of <c>/</c>.</summary>
    public static Task<LibCoapServer> StartAsync() => StartAsync(LibCoap.ServerPath, []);

    /// <summary>Starts <c>coap-server-{flavour}</c> with DTLS arguments (e.g. <c>-c -j -R</c> or <c>-k</c>) and waits until it answers over coap.</summary>
    public static Task<LibCoapServer> StartDtlsAsync(string flavour, params string[] dtlsArguments) => StartAsync(LibCoap.DtlsServerPath(flavour), dtlsArguments);

    /// <summary>As <see cref="StartDtlsAsync(string, string[])"/>, with <paramref name="environment"/> set for the server (e.g. OPENSSL_CONF).</summary>
    public static Task<LibCoapServer> StartDtlsAsync(string flavour, IReadOnlyDictionary<string, string> environment, params string[] dtlsArguments) =>
        StartAsync(LibCoap.DtlsServerPath(flavour), dtlsArguments, environment);

    private static async Task<LibCoapServer> StartAsync(string path, string[] extraArguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        int port = FindFreePort();
        string[] arguments = ["-A", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-v", "6", .. extraArguments];
        var output = new StringBuilder();
        var process = ExternalProcess.StartCollecting(path, arguments, output, environment);
        var server = new LibCoapServer(process, output, port, ExternalProcess.CommandLine(path, arguments));
        try
        {
            await server.WaitUntilReadyAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        var remote = new IPEndPoint(IPAddress.Loopback, Port);
        var options = new CoapClientOptions { Endpoint = { AckTimeout = TimeSpan.FromMilliseconds(200), MaxRetransmit = 1 } };
        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote), options);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                Assert.Fail($"{Path.GetFileName(CommandLine.Split(' ')[0])} exited with {_process.ExitCode} during start-up.{Environment.NewLine}{Output}");
            }

            try
            {
                await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get), remote, default);
                return;
            }
            catch (CoapProtocolException)
            {
            }
        }

        Assert.Fail($"{Path.GetFileName(CommandLine.Split(' ')[0])} did not answer within 10 s.{Environment.NewLine}{Output}");
    }

    /// <summary>A port free for both UDP and TCP, with the next port free too (libcoap listens on both, and on port + 1 for (D)TLS).</summary>
    private static int FindFreePort()
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            if (port >= 65535)
            {
                continue;
            }

            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var udpNext = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            using var tcpNext = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                udpNext.Bind(new IPEndPoint(IPAddress.Loopback, port + 1));
                tcpNext.Bind(new IPEndPoint(IPAddress.Loopback, port + 1));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("No free pair of ports for a libcoap server.");
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
