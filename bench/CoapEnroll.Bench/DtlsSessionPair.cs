using System.Net;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// One established DTLS session over UDP loopback, our client to our server in this process, for measuring
/// application data: <see cref="RoundTripAsync"/> sends a datagram from the client, receives it on the server,
/// echoes it back and receives the echo on the client. Two records sealed, two opened, four datagrams.
/// </summary>
internal sealed class DtlsSessionPair : IAsyncDisposable
{
    private readonly DtlsTestCredentials _credentials;
    private readonly byte[] _payload;
    private readonly byte[] _serverBuffer = new byte[2048];
    private readonly byte[] _clientBuffer = new byte[2048];

    private DtlsSessionPair(DtlsTestCredentials credentials, DtlsServerChannel server, DtlsClientChannel client, int size)
    {
        _credentials = credentials;
        Server = server;
        Client = client;
        _payload = new byte[size];
        Random.Shared.NextBytes(_payload);
    }

    public DtlsServerChannel Server { get; }

    public DtlsClientChannel Client { get; }

    /// <summary>ECDHE handshake with <paramref name="suite"/>; <paramref name="cid"/> enables 6-byte CIDs in both directions.</summary>
    public static async Task<DtlsSessionPair> CreateAsync(CipherSuite suite, bool cid, int size)
    {
        DtlsTestCredentials credentials = DtlsTestCredentials.Create();
        DtlsServerOptions serverOptions = credentials.ServerOptions();
        serverOptions.EnableConnectionId = cid;
        DtlsServerChannel server = DtlsHandshakeMode.CreateServer(serverOptions);
        DtlsClientOptions clientOptions = credentials.ClientOptions(HandshakeKind.Ecdhe);
        clientOptions.CipherSuites = [suite];
        clientOptions.EnableConnectionId = cid;
        DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, clientOptions, CancellationToken.None);
        var pair = new DtlsSessionPair(credentials, server, client, size);
        for (int i = 0; i < 100; i++)
        {
            await pair.RoundTripAsync(); // warm-up: JIT, pools, the server's endpoint cache
        }

        return pair;
    }

    public async Task RoundTripAsync()
    {
        await Client.SendAsync(_payload, Client.RemoteEndPoint, CancellationToken.None);
        var request = await Server.ReceiveAsync(_serverBuffer, CancellationToken.None);
        await Server.SendAsync(_serverBuffer.AsMemory(0, request.ReceivedBytes), request.RemoteEndPoint, CancellationToken.None);
        var response = await Client.ReceiveAsync(_clientBuffer, CancellationToken.None);
        if (response.ReceivedBytes != _payload.Length)
        {
            throw new InvalidOperationException($"Echo of {response.ReceivedBytes} bytes, sent {_payload.Length}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        _credentials.Dispose();
    }
}
