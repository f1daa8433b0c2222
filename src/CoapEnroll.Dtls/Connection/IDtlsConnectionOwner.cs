using System.Net;

namespace CoapEnroll.Dtls;

/// <summary>
/// What a connection needs from its channel. Callbacks run while the connection's lock is held, and must
/// not call back into the connection synchronously; <see cref="OnApplicationData"/> is the exception, it runs after the lock
/// is released.
/// </summary>
internal interface IDtlsConnectionOwner
{
    /// <summary>Sends a datagram; <paramref name="datagram"/> is a pooled buffer, valid only until the returned task completes.</summary>
    ValueTask SendDatagramAsync(ReadOnlyMemory<byte> datagram, IPEndPoint remote, CancellationToken cancellationToken);

    void OnEstablished(DtlsConnection connection);

    void OnClosed(DtlsConnection connection, Exception? error);

    /// <summary>
    /// Decrypted application data, in record order, after the connection released its lock (the owner may send on the connection
    /// from here); the owner takes <paramref name="data"/> and must return it (see <see cref="PooledDatagram"/>).
    /// </summary>
    void OnApplicationData(DtlsConnection connection, PooledDatagram data);

    void OnRemoteChanged(DtlsConnection connection, IPEndPoint previous);
}
