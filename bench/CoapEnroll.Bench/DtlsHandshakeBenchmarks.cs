using System.Net;
using BenchmarkDotNet.Attributes;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// One full DTLS 1.2 handshake over UDP loopback, our client to our server in the same process:
/// ClientHello, HelloVerifyRequest, ClientHello with cookie, server flight, client flight, final flight,
/// then close_notify. Both sides' CPU and allocations are in the numbers (one process, 2 cores).
/// Every operation binds a fresh client socket, as a new device would.
/// </summary>
[MemoryDiagnoser]
public class DtlsHandshakeBenchmarks
{
    private DtlsTestCredentials _credentials = null!;
    private DtlsServerChannel _server = null!;
    private IPEndPoint _serverAddress = null!;
    private DtlsClientOptions _clientOptions = null!;

    [Params(HandshakeKind.Ecdhe, HandshakeKind.EcdheMutual, HandshakeKind.Psk)]
    public HandshakeKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _credentials = DtlsTestCredentials.Create();
        DtlsServerOptions options = _credentials.ServerOptions();
        _server = DtlsHandshakeMode.CreateServer(options);
        _serverAddress = (IPEndPoint)_server.LocalEndPoint;
        _clientOptions = _credentials.ClientOptions(Kind);
        _ = DrainAsync();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _server.DisposeAsync();
        _credentials.Dispose();
    }

    [Benchmark]
    public async Task Handshake()
    {
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(_serverAddress, _clientOptions, CancellationToken.None);
    }

    // The server channel queues application data; nothing is sent here, but keep the reader alive anyway.
    private async Task DrainAsync()
    {
        byte[] buffer = new byte[2048];
        try
        {
            while (true)
            {
                await _server.ReceiveAsync(buffer, CancellationToken.None);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
