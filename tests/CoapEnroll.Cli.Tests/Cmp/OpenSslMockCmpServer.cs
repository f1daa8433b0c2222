using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// <c>openssl cmp -port</c>: OpenSSL's CMP mock server over HTTP, an independent peer. It answers every enrollment with
/// <c>-rsp_cert</c>, MAC-protects its answers with <see cref="Secret"/>, accepts rr for that certificate and echoes genm items.
/// </summary>
public sealed class OpenSslMockCmpServer : IAsyncDisposable
{
    public const string Secret = "mock-secret-5e1d";

    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    private OpenSslMockCmpServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>What the mock printed (its request log and errors), for failure messages.</summary>
    public string Log => string.Join("\n", _log);

    public string Url(string path = "/pkix/") => $"http://127.0.0.1:{Port}{path}";

    public static async Task<OpenSslMockCmpServer> StartAsync(string responseCertificate, params string[] extra)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var start = new ProcessStartInfo(RequiredTool.Find("openssl", "openssl"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["cmp", "-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-srv_ref", "mock",
            "-srv_secret", "pass:" + Secret, "-rsp_cert", responseCertificate, .. extra])
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("openssl did not start");
        var server = new OpenSslMockCmpServer(process, port);
        process.OutputDataReceived += (_, e) => { if (e.Data is { } line) { server._log.Enqueue(line); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) { server._log.Enqueue(line); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        await server.DisposeAsync();
        throw new InvalidOperationException($"openssl cmp -port {port} did not listen");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
