using System.Net;

namespace CoapEnroll.Transport;

/// <summary>
/// A message-oriented transport: datagrams in, datagrams out, each with its remote endpoint. UDP
/// implements it directly; DTLS implements it on top of UDP and identifies a peer by its security
/// association instead of its address (RFC 7252 §9.1.1), by handing out its own
/// <see cref="EndPoint"/> objects, which implement <see cref="ISecureSession"/>. The CoAP layer only compares endpoints for
/// equality, and hands their <see cref="ISecureSession"/> to the application.
/// </summary>
public interface IDatagramChannel : IAsyncDisposable
{
    /// <summary>The local address the channel is bound to.</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>
    /// The largest CoAP message this channel carries in one datagram; larger bodies go block-wise.
    /// </summary>
    int MaxDatagramSize { get; }

    /// <summary>
    /// Receives the next datagram into <paramref name="buffer"/>. Throws
    /// <see cref="OperationCanceledException"/> when cancelled and <see cref="ObjectDisposedException"/>
    /// once the channel is disposed; transient errors are swallowed by the channel. A client channel connected to one peer
    /// throws <see cref="RemoteUnreachableException"/> when nothing listens there; the next receive goes on receiving.
    /// </summary>
    ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>
    /// Receives like <see cref="ReceiveAsync"/>, except that a channel closed before or during the wait ends it with
    /// <see cref="DatagramReceiveResult.Closed"/> instead of <see cref="ObjectDisposedException"/>: a receive loop ends on a normal
    /// close without an exception thrown and caught, which costs CPU on every session a client closes. Cancellation still throws
    /// <see cref="OperationCanceledException"/>. This default catches the <see cref="ObjectDisposedException"/>; channels that can
    /// tell a close apart without one override it.
    /// </summary>
    async ValueTask<DatagramReceiveResult> ReceiveOrClosedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return DatagramReceiveResult.Closed;
        }
    }

    /// <summary>
    /// Sends one datagram to <paramref name="remoteEndPoint"/>. The caller may reuse <paramref name="datagram"/>'s memory as
    /// soon as the returned task completes (the DTLS layer sends from pooled buffers): an implementation that queues the
    /// datagram must copy it.
    /// </summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken);
}
