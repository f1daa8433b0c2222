using System.Net;
using System.Text;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// A DTLS 1.2 session (<see cref="DtlsClientChannel"/>) carrying raw CoAP datagrams: PSK (TLS_PSK_WITH_AES_128_CCM_8), or whatever
/// the given client options negotiate (ECDHE_ECDSA with a client certificate).
/// </summary>
internal sealed class DtlsLoadTransport : ILoadTransport
{
    private readonly DtlsClientChannel _channel;

    private DtlsLoadTransport(DtlsClientChannel channel) => _channel = channel;

    public static async Task<DtlsLoadTransport> ConnectAsync(IPEndPoint server, string identity, byte[] key, CancellationToken cancellationToken)
    {
        // PSK only: a client that also offers ECDHE gets the server's certificate, which it has no trust anchor for.
        var options = new DtlsClientOptions
        {
            PskIdentity = Encoding.UTF8.GetBytes(identity),
            PskKey = key,
            CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
        };
        return await ConnectAsync(server, options, cancellationToken);
    }

    public static async Task<DtlsLoadTransport> ConnectAsync(IPEndPoint server, DtlsClientOptions options, CancellationToken cancellationToken) =>
        new(await DtlsClientChannel.ConnectAsync(server, options, cancellationToken));

    public async ValueTask SendAsync(byte[] datagram, CancellationToken cancellationToken) =>
        await _channel.SendAsync(datagram, _channel.RemoteEndPoint, cancellationToken);

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        (await _channel.ReceiveAsync(buffer, cancellationToken)).ReceivedBytes;

    public ValueTask DisposeAsync() => _channel.DisposeAsync();
}
