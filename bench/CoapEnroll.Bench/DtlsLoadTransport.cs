using System.Net;
using System.Text;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>A DTLS 1.2 PSK session (<see cref="DtlsClientChannel"/>, TLS_PSK_WITH_AES_128_CCM_8) carrying raw CoAP datagrams.</summary>
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
        return new DtlsLoadTransport(await DtlsClientChannel.ConnectAsync(server, options, cancellationToken));
    }

    public async ValueTask SendAsync(byte[] datagram, CancellationToken cancellationToken) =>
        await _channel.SendAsync(datagram, _channel.RemoteEndPoint, cancellationToken);

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        (await _channel.ReceiveAsync(buffer, cancellationToken)).ReceivedBytes;

    public ValueTask DisposeAsync() => _channel.DisposeAsync();
}
