using System.Net;

namespace CoapEnroll.Dtls;

/// <summary>
/// What a connection needs from its channel. Callbacks run while the connection's lock is held: they must
/// not call back into the connection synchronously.
/// </summary>
internal interface IDtlsConnectionOwner
{
    /// <summary>Sends a datagram; <paramref name="datagram"/> is a pooled buffer, valid only until the returned task completes.</summary>
    ValueTask SendDatagramAsync(ReadOnlyMemory<byte> datagram, IPEndPoint remote, CancellationToken cancellationToken);

    void OnEstablished(DtlsConnection connection);

    void OnClosed(DtlsConnection connection, Exception? error);

    /// <summary>Decrypted application data; the owner takes <paramref name="data"/> and must return it (see <see cref="PooledDatagram"/>).</summary>
    void OnApplicationData(DtlsConnection connection, PooledDatagram data);

    void OnRemoteChanged(DtlsConnection connection, IPEndPoint previous);
}
