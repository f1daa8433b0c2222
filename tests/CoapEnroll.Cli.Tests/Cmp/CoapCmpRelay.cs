using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cli.Tests.Interop;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// Lets <c>openssl cmp</c> (HTTP only) drive CMP over CoAP: a tiny HTTP endpoint on loopback that hands each PKIMessage to
/// libcoap's <c>coap-client</c> (<c>-m post -t 259</c>, block-wise with <c>-b</c>) and returns the CoAP answer's payload. Every
/// byte on the CoAP side is libcoap's: our server sees an independent CoAP client, openssl sees an HTTP CMP server.
/// </summary>
public sealed class CoapCmpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly string _client;
    private readonly string[] _clientArguments;
    private readonly string _uri;
    private readonly string _directory;
    private readonly Task _loop;
    private int _exchanges;

    /// <param name="flavour"><c>notls</c>, <c>openssl</c> or <c>gnutls</c>.</param>
    /// <param name="uri">The CoAP URI to POST to.</param>
    /// <param name="clientArguments">Extra coap-client arguments (e.g. <c>-k</c>/<c>-u</c> for PSK).</param>
    public CoapCmpRelay(string flavour, string uri, string directory, params string[] clientArguments)
    {
        _client = flavour == "notls" ? LibCoap.ClientPath : LibCoap.DtlsClientPath(flavour);
        _uri = uri;
        _directory = directory;
        _clientArguments = clientArguments;
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>host:port/path for <c>openssl cmp -server</c>.</summary>
    public string Server => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/relay";

    /// <summary>What coap-client printed, for assertion messages.</summary>
    public StringBuilder Log { get; } = new();

    /// <summary>CoAP answer codes seen (e.g. "2.04"), in order.</summary>
    public List<string> Codes { get; } = [];

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            using (client)
            {
                try
                {
                    await RelayAsync(client.GetStream());
                }
                catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException)
                {
                    lock (Log)
                    {
                        Log.AppendLine("relay: " + ex.Message);
                    }
                }
            }
        }
    }

    private async Task RelayAsync(NetworkStream stream)
    {
        byte[] body = await ReadRequestAsync(stream);
        int n = Interlocked.Increment(ref _exchanges);
        string request = Path.Combine(_directory, $"relay-req-{n}.der");
        string response = Path.Combine(_directory, $"relay-rsp-{n}.der");
        await File.WriteAllBytesAsync(request, body);
        ProcessResult result = await ExternalProcess.RunAsync(_client,
            ["-B", "30", "-v", "7", "-m", "post", "-t", "259", "-b", "512", "-f", request, "-o", response, .. _clientArguments, _uri], TimeSpan.FromSeconds(45));
        lock (Log)
        {
            Log.AppendLine(result.Describe());
            Codes.Add(CodeOf(result.StandardOutput + result.StandardError));
        }

        byte[] answer = File.Exists(response) ? await File.ReadAllBytesAsync(response) : [];
        bool ok = result.ExitCode == 0 && answer.Length > 0;
        string head = ok
            ? $"HTTP/1.0 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: {answer.Length}\r\nConnection: close\r\n\r\n"
            : "HTTP/1.0 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        if (ok)
        {
            await stream.WriteAsync(answer);
        }
    }

    private static string CodeOf(string verbose)
    {
        // coap-client -v 7 logs the received PDU as "v:1 t:ACK c:2.04 ...".
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(verbose, @"c:(?<code>[2-5]\.\d\d)(?![\s\S]*c:[2-5]\.\d\d)");
        return m.Success ? m.Groups["code"].Value : "?";
    }

    private static async Task<byte[]> ReadRequestAsync(NetworkStream stream)
    {
        var header = new List<byte>();
        byte[] one = new byte[1];
        while (!EndsWithBlankLine(header))
        {
            if (await stream.ReadAsync(one) == 0 || header.Count > 16 * 1024)
            {
                throw new InvalidDataException("incomplete HTTP request");
            }

            header.Add(one[0]);
        }

        string text = Encoding.ASCII.GetString(header.ToArray());
        System.Text.RegularExpressions.Match length = System.Text.RegularExpressions.Regex.Match(text, @"(?im)^content-length:\s*(\d+)");
        if (!length.Success)
        {
            throw new InvalidDataException("no Content-Length");
        }

        byte[] body = new byte[int.Parse(length.Groups[1].Value, CultureInfo.InvariantCulture)];
        await stream.ReadExactlyAsync(body);
        return body;
    }

    private static bool EndsWithBlankLine(List<byte> bytes) =>
        bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n';

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }
}
