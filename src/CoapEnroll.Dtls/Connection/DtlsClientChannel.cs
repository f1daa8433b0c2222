using System.Net;
using System.Threading.Channels;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Dtls;

/// <summary>
/// A DTLS 1.2 client session as an <see cref="IDatagramChannel"/>: <see cref="ConnectAsync(IPEndPoint, DtlsClientOptions, CancellationToken)"/>
/// performs the handshake (cookie exchange, server chain and name validation, optional client certificate
/// or PSK, extended master secret, CID) and returns a channel whose only peer is <see cref="RemoteEndPoint"/>.
/// One internal receive loop processes the transport; <see cref="ReceiveAsync"/> returns decrypted application data.
/// </summary>
public sealed class DtlsClientChannel : IDatagramChannel, IDtlsConnectionOwner
{
    /// <summary>
    /// The largest record a peer may send us: header, a CID of the largest length there is, and
    /// 2^14 + 2048 bytes of ciphertext (RFC 6347 §4.1, RFC 9146 §4). A datagram is cut there, or at the
    /// PMTU when that is larger; a peer that packs more than that into one datagram exceeds any real path MTU.
    /// </summary>
    private const int MaxRecordLength = DtlsRecordCodec.HeaderLength + DtlsRecordCodec.MaxConnectionIdLength + DtlsRecordCodec.MaxCiphertextLength;

    private readonly IDatagramChannel _transport;
    private readonly DtlsClientOptions _options;
    private readonly ILogger _logger;
    private readonly DtlsClientConnection _connection;
    private readonly TaskCompletionSource _established = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Each queued datagram owns a pooled buffer: ReceiveAsync returns it, and so does a write dropped on a full queue.
    private readonly Channel<PooledDatagram> _incoming =
        Channel.CreateBounded<PooledDatagram>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            static dropped => dropped.Return());
    private readonly CancellationTokenSource _stop = new();
    private Task _receiveLoop = Task.CompletedTask;
    private int _disposed;

    private DtlsClientChannel(IDatagramChannel transport, IPEndPoint server, DtlsClientOptions options)
    {
        _transport = transport;
        _options = options;
        _logger = (ILogger?)options.LoggerFactory?.CreateLogger<DtlsClientChannel>() ?? NullLogger.Instance;
        _connection = new DtlsClientConnection(options, this, server, options.LoggerFactory?.CreateLogger<DtlsClientConnection>());
    }

    /// <summary>The session: validated server identity, suite, channel bindings, CIDs.</summary>
    public DtlsSessionEndPoint RemoteEndPoint => _connection.EndPoint;

    public EndPoint LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>PMTU minus this session's exact record expansion.</summary>
    public int MaxDatagramSize => _connection.MaxApplicationDataLength;

    /// <summary>
    /// Connects over a new UDP socket on an ephemeral port, connected to <paramref name="server"/>: when nothing listens there the
    /// handshake fails at once with <see cref="RemoteUnreachableException"/> instead of retransmitting until cancelled.
    /// </summary>
    public static Task<DtlsClientChannel> ConnectAsync(IPEndPoint server, DtlsClientOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(options);
        return ConnectAsync(UdpDatagramChannel.ConnectTo(server, options.PathMtu), server, options, cancellationToken);
    }

    /// <summary>
    /// Connects over <paramref name="transport"/>, which the channel then owns (disposed on failure too). Outgoing
    /// datagrams are pooled buffers: the transport must not keep one after its SendAsync completed.
    /// </summary>
    public static async Task<DtlsClientChannel> ConnectAsync(IDatagramChannel transport, IPEndPoint server, DtlsClientOptions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(options);
        DtlsClientChannel channel;
        try
        {
            options.Validate();
            channel = new DtlsClientChannel(transport, server, options);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        try
        {
            channel._receiveLoop = Task.Run(channel.ReceiveLoopAsync, CancellationToken.None);
            await channel._connection.StartAsync(cancellationToken).ConfigureAwait(false);
            await channel._established.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return channel;
        }
        catch
        {
            await channel.DisposeCoreAsync(sendCloseNotify: false).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Returns <see cref="DatagramReceiveResult.Closed"/> instead of throwing once the channel is disposed, or the server closed
    /// the session, and no datagram is left: waits on the queue's completion, which throws nothing.
    /// </summary>
    public async ValueTask<DatagramReceiveResult> ReceiveOrClosedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return DatagramReceiveResult.Closed;
        }

        PooledDatagram data;
        while (!_incoming.Reader.TryRead(out data))
        {
            if (!await _incoming.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return DatagramReceiveResult.Closed;
            }
        }

        return new DatagramReceiveResult(data.CopyToAndReturn(buffer.Span), _connection.EndPoint);
    }

    public async ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        DatagramReceiveResult result = await ReceiveOrClosedAsync(buffer, cancellationToken).ConfigureAwait(false);
        ObjectDisposedException.ThrowIf(result.IsClosed, this);
        return result;
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!ReferenceEquals(remoteEndPoint, _connection.EndPoint) && !_connection.Remote.Equals(remoteEndPoint))
        {
            throw new ArgumentException("A DTLS client channel has one peer: its RemoteEndPoint.", nameof(remoteEndPoint));
        }

        await _connection.SendApplicationDataAsync(datagram, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends close_notify and releases the socket.</summary>
    public ValueTask DisposeAsync() => DisposeCoreAsync(sendCloseNotify: true);

    private async ValueTask DisposeCoreAsync(bool sendCloseNotify)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _connection.CloseAsync(sendCloseNotify && _connection.IsEstablished, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
        }

        // The receive loop ends as closed when the socket goes, without an exception where the transport can (a connected UDP
        // channel: see ReceiveLoopAsync); cancelling it would throw and catch one in the socket and in each awaiting frame, on
        // every session closed. The cancel still ends a ProcessDatagramAsync in progress, and the loop of any other transport.
        await _stop.CancelAsync().ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _receiveLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
        }

        _incoming.Writer.TryComplete();

        // Unread datagrams hold decrypted application data: zero them back into the pool.
        while (_incoming.Reader.TryRead(out PooledDatagram unread))
        {
            unread.Return();
        }

        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        // Sized to one maximum record rather than 64 KiB: one buffer per client session, each on the small-object heap.
        byte[] buffer = new byte[Math.Max(_options.PathMtu, MaxRecordLength)];
        CancellationToken ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            DatagramReceiveResult result;
            try
            {
                // A connected UDP channel ends this receive as closed when disposed, with no token to cancel it; anything else is
                // cancelled on close.
                result = await _transport.ReceiveOrClosedAsync(buffer, _transport is UdpDatagramChannel ? CancellationToken.None : ct)
                    .ConfigureAwait(false);
                if (result.IsClosed)
                {
                    break;
                }
            }
            catch (RemoteUnreachableException ex)
            {
                // Fails a handshake in progress; once established, the session's own timeouts decide (the server may be restarting).
                _established.TrySetException(ex);
                continue;
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // Stopping (cancelled, or the socket was disposed under the pending receive), or the transport is broken.
                break;
            }

            // Only the server's address, unless a CID was negotiated (then the record's CID and AEAD decide).
            if (result.RemoteEndPoint is not IPEndPoint from || (!from.Equals(_connection.Remote) && !_connection.IsConnectionIdNegotiated))
            {
                continue;
            }

            try
            {
                await _connection.ProcessDatagramAsync(buffer.AsMemory(0, result.ReceivedBytes), from, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                DtlsLog.InternalError(_logger, from, ex);
            }
        }

        _incoming.Writer.TryComplete();
    }

    ValueTask IDtlsConnectionOwner.SendDatagramAsync(ReadOnlyMemory<byte> datagram, IPEndPoint remote, CancellationToken cancellationToken) =>
        _transport.SendAsync(datagram, remote, cancellationToken);

    void IDtlsConnectionOwner.OnEstablished(DtlsConnection connection) => _established.TrySetResult();

    void IDtlsConnectionOwner.OnClosed(DtlsConnection connection, Exception? error)
    {
        _established.TrySetException(error ?? new DtlsHandshakeException("The connection closed before the handshake completed."));
        _incoming.Writer.TryComplete();
    }

    void IDtlsConnectionOwner.OnApplicationData(DtlsConnection connection, PooledDatagram data)
    {
        if (!_incoming.Writer.TryWrite(data))
        {
            data.Return(); // the queue is completed (closed or disposed)
        }
    }

    void IDtlsConnectionOwner.OnRemoteChanged(DtlsConnection connection, IPEndPoint previous)
    {
    }
}
