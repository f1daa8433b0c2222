using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace CoapEnroll.Transport;

/// <summary>
/// <see cref="IDatagramChannel"/> over one UDP socket served by a thread of its own (one thread per socket, never per peer),
/// for servers. The thread blocks in the kernel's receive; a datagram wakes it directly, and it completes the pending
/// <see cref="ReceiveAsync"/> <b>on that thread</b>: the caller's continuation (decode, duplicate detection, a handler up to its
/// first real <c>await</c>, the reply) runs there, and it then asks for the next datagram before the thread goes back to the
/// socket. What a handler does asynchronously continues on the thread pool as usual. Replies are sent synchronously
/// (<c>sendto</c> on a UDP socket does not wait for the peer). So a datagram costs no epoll registration, no hop from the
/// runtime's socket engine to the thread pool and, for a peer this channel reported, no endpoint serialization or
/// allocation; <see cref="UdpDatagramChannel"/> (fully asynchronous) pays those per datagram whenever the socket is
/// momentarily empty. On 64-bit Linux the thread takes every datagram already queued with one <c>recvmmsg</c> and sends the
/// replies made on it meanwhile with one <c>sendmmsg</c> (<see cref="IsBatched"/>), so a busy socket costs two system calls
/// per batch instead of two per datagram; a reply is held at most until the batch's other datagrams are handled. The price: while the caller's continuation runs, this socket is not read (the kernel queues, up to
/// the socket's receive buffer), so the caller must not block in it, which the CoAP endpoint's receive loop never does.
/// Bound to <see cref="IPAddress.IPv6Any"/> it is dual-mode; IPv4 peers are reported as plain IPv4 endpoints. A datagram
/// larger than the buffer the caller offers is dropped, as is every receive error the kernel reports for a single
/// datagram (ICMP errors of earlier sends, which an unconnected socket does not get on Linux anyway).
/// </summary>
public sealed class DedicatedUdpDatagramChannel : IDatagramChannel
{
    // The largest UDP payload over IPv4 is 65,507 bytes: a datagram never arrives truncated into this buffer.
    private const int SocketBufferSize = 65536;
    private const int MaxCachedEndPoints = 4096;

    private const int Idle = 0;
    private const int Preparing = 1;
    private const int CancelledWhilePreparing = 2;
    private const int Posted = 3;
    private const int Completing = 4;

    private readonly Socket _socket;
    private readonly Thread _thread;
    private readonly byte[] _socketBuffer = new byte[SocketBufferSize];
    private readonly SocketAddress _receiveAddress;
    private readonly IPEndPoint _addressTemplate;

    // Touched only by the receive thread.
    private readonly Dictionary<SocketAddress, UdpPeerEndPoint> _endPoints = [];

    // Linux: recvmmsg/sendmmsg through pinned buffers; elsewhere (or if the C library lacks them) one system call per datagram.
    private LinuxDatagramBatch? _batch;

    // The receive thread's managed ID while it delivers a batch: a send made on it then is queued for sendmmsg.
    private int _batchingThreadId;

    private readonly PendingReceive _pending;
    private readonly ManualResetEventSlim _posted = new(false);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _dropped;
    private int _disposed;

    private DedicatedUdpDatagramChannel(Socket socket, int maxDatagramSize)
    {
        _socket = socket;
        MaxDatagramSize = maxDatagramSize;
        var local = (IPEndPoint)socket.LocalEndPoint!;
        LocalEndPoint = Normalize(local);
        _receiveAddress = new SocketAddress(socket.AddressFamily);
        _addressTemplate = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        _pending = new PendingReceive(this);
        _batch = LinuxDatagramBatch.IsSupported ? new LinuxDatagramBatch(socket) : null;
        _thread = new Thread(ReceiveLoop)
        {
            IsBackground = true,
            Name = $"udp rx {LocalEndPoint}",
        };
    }

    public EndPoint LocalEndPoint { get; }

    public int MaxDatagramSize { get; }

    /// <summary>The socket's receive buffer as the system reports it (SO_RCVBUF; on Linux twice what it granted).</summary>
    public int SocketReceiveBufferBytes => _socket.ReceiveBufferSize;

    /// <summary>
    /// True while the channel receives and replies in batches (Linux recvmmsg/sendmmsg); false where it makes one system call
    /// per datagram (other systems, or a C library without those calls, found out at the first receive).
    /// </summary>
    public bool IsBatched => _batch is not null;

    /// <summary>Datagrams received and dropped because the pending receive's buffer was too small for them.</summary>
    public long OversizedDropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Binds a socket and starts its receive thread. <see cref="IPAddress.IPv6Any"/> gives a dual-mode socket for both families.
    /// <paramref name="socketReceiveBufferBytes"/> as for <see cref="UdpDatagramChannel.Bind"/>.
    /// </summary>
    public static DedicatedUdpDatagramChannel Bind(IPEndPoint localEndPoint, int maxDatagramSize = UdpDatagramChannel.DefaultMaxDatagramSize,
        int socketReceiveBufferBytes = 0)
    {
        Socket socket = UdpDatagramChannel.CreateSocket(localEndPoint, socketReceiveBufferBytes);
        try
        {
            // Blocking for good: the socket is never used asynchronously, so the runtime never switches it to non-blocking.
            socket.Blocking = true;
            socket.Bind(localEndPoint);
            var channel = new DedicatedUdpDatagramChannel(socket, maxDatagramSize);
            channel._thread.Start();
            return channel;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Receives the next datagram. One receive at a time (a second concurrent call throws
    /// <see cref="InvalidOperationException"/>); its continuation runs on the channel's receive thread.
    /// </summary>
    public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        => Receive(buffer, closedAsResult: false, cancellationToken);

    /// <summary>
    /// Receives like <see cref="ReceiveAsync"/>, but a close ends it with <see cref="DatagramReceiveResult.Closed"/>: the same
    /// reusable receive, where the interface's default would allocate a state machine for every datagram that is waited for.
    /// </summary>
    public ValueTask<DatagramReceiveResult> ReceiveOrClosedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        => Receive(buffer, closedAsResult: true, cancellationToken);

    private ValueTask<DatagramReceiveResult> Receive(Memory<byte> buffer, bool closedAsResult, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return closedAsResult
                ? ValueTask.FromResult(DatagramReceiveResult.Closed)
                : ValueTask.FromException<DatagramReceiveResult>(new ObjectDisposedException(nameof(DedicatedUdpDatagramChannel)));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<DatagramReceiveResult>(cancellationToken);
        }

        ValueTask<DatagramReceiveResult> result = _pending.Post(buffer, closedAsResult, cancellationToken);
        _posted.Set();
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Disposed while posting: the receive thread may be gone already, so nobody else would complete it.
            _pending.TryCompleteClosed();
        }

        return result;
    }

    /// <summary>Sends synchronously: a UDP send only waits for room in the socket's send buffer, never for the peer.</summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(remoteEndPoint);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        try
        {
            if (remoteEndPoint is UdpPeerEndPoint peer && ReferenceEquals(peer.Owner, this))
            {
                if (_batchingThreadId == Environment.CurrentManagedThreadId && _batch!.TryQueue(datagram.Span, peer.SocketAddress))
                {
                    // A reply made while the receive thread delivers a batch: sent with the batch's other replies.
                    return ValueTask.CompletedTask;
                }

                FlushIfBatching();
                _socket.SendTo(datagram.Span, SocketFlags.None, peer.SocketAddress);
            }
            else
            {
                FlushIfBatching();
                _socket.SendTo(datagram.Span, SocketFlags.None, remoteEndPoint);
            }
        }
        catch (SocketException ex) when (IsTransient(ex.SocketErrorCode))
        {
            // UDP gives no delivery guarantee; the CoAP message layer retransmits what matters.
        }
        catch (SocketException ex) when (Volatile.Read(ref _disposed) != 0)
        {
            return ValueTask.FromException(new ObjectDisposedException(nameof(DedicatedUdpDatagramChannel), ex));
        }
        catch (ObjectDisposedException ex)
        {
            return ValueTask.FromException(ex);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Closes the socket, ends a pending receive (<see cref="ObjectDisposedException"/>, or <see cref="DatagramReceiveResult.Closed"/>
    /// for <see cref="ReceiveOrClosedAsync"/>) and completes once the receive
    /// thread has left (at once if it is the caller: then it leaves as soon as the caller returns to it).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }

        // Closing the socket wakes the thread from its blocking receive (the runtime shuts the socket down for that).
        _socket.Dispose();
        _posted.Set();
        _pending.TryCompleteClosed();
        if (Thread.CurrentThread != _thread)
        {
            await _stopped.Task.ConfigureAwait(false);
        }
    }

    private void ReceiveLoop()
    {
        try
        {
            if (_batch is not null && !BatchedReceiveLoop())
            {
                return;
            }

            while (Volatile.Read(ref _disposed) == 0)
            {
                int received;
                try
                {
                    // Size back to the family's maximum: the previous receive set it to that peer's address length.
                    _receiveAddress.Size = _receiveAddress.Buffer.Length;
                    received = _socket.ReceiveFrom(_socketBuffer, SocketFlags.None, _receiveAddress);
                }
                catch (SocketException ex) when (Volatile.Read(ref _disposed) == 0 && IsTransient(ex.SocketErrorCode))
                {
                    continue;
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // Disposed under the receive (or the socket is broken, which ends the channel the same way).
                    break;
                }

                UdpPeerEndPoint from = GetEndPoint(_receiveAddress);
                if (!Deliver(received, from))
                {
                    break;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _disposed, 1);
            _pending.TryCompleteClosed();
            _stopped.TrySetResult();
        }
    }

    /// <summary>
    /// Receives with recvmmsg and sends the replies made meanwhile with sendmmsg. Returns false when the channel is done,
    /// true when the C library lacks the calls (then the caller goes on one datagram at a time).
    /// </summary>
    private bool BatchedReceiveLoop()
    {
        LinuxDatagramBatch batch = _batch!;
        while (Volatile.Read(ref _disposed) == 0)
        {
            int count;
            try
            {
                count = batch.Receive();
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                _batch = null;
                return true;
            }
            catch (SocketException ex) when (Volatile.Read(ref _disposed) == 0 && IsTransient(ex.SocketErrorCode))
            {
                continue;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return false;
            }

            _batchingThreadId = Environment.CurrentManagedThreadId;
            try
            {
                for (int i = 0; i < count; i++)
                {
                    if (!batch.TryGetReceived(i, _receiveAddress, out ReadOnlySpan<byte> datagram))
                    {
                        if (Volatile.Read(ref _disposed) != 0)
                        {
                            return false;
                        }

                        Interlocked.Increment(ref _dropped);
                        continue;
                    }

                    if (!Deliver(datagram, GetEndPoint(_receiveAddress)))
                    {
                        return false;
                    }
                }
            }
            finally
            {
                _batchingThreadId = 0;
                batch.Flush();
            }
        }

        return false;
    }

    /// <summary>Sends the queued replies first when a send on the receive thread cannot join them, so that none overtakes them.</summary>
    private void FlushIfBatching()
    {
        if (_batchingThreadId == Environment.CurrentManagedThreadId && _batch!.PendingSends > 0)
        {
            _batch.Flush();
        }
    }

    private bool Deliver(int received, UdpPeerEndPoint from) => Deliver(_socketBuffer.AsSpan(0, received), from);

    /// <summary>Hands the datagram to the pending receive, waiting for one if there is none; false once disposed.</summary>
    private bool Deliver(ReadOnlySpan<byte> datagram, UdpPeerEndPoint from)
    {
        while (true)
        {
            switch (_pending.TryDeliver(datagram, from))
            {
                case DeliveryOutcome.Delivered:
                    return true;
                case DeliveryOutcome.TooLarge:
                    Interlocked.Increment(ref _dropped);
                    return true;
            }

            if (Volatile.Read(ref _disposed) != 0)
            {
                return false;
            }

            // Nobody is receiving (the caller is busy elsewhere): send what is queued, then wait for the next ReceiveAsync.
            // Checked again after the reset, so a post between the check and the reset is never missed.
            if (_batch is { PendingSends: > 0 } batch)
            {
                batch.Flush();
            }

            _posted.Wait();
            _posted.Reset();
        }
    }

    private UdpPeerEndPoint GetEndPoint(SocketAddress address)
    {
        if (_endPoints.TryGetValue(address, out UdpPeerEndPoint? endPoint))
        {
            return endPoint;
        }

        if (_endPoints.Count >= MaxCachedEndPoints)
        {
            _endPoints.Clear();
        }

        var key = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span[..address.Size].CopyTo(key.Buffer.Span);
        endPoint = new UdpPeerEndPoint(Normalize((IPEndPoint)_addressTemplate.Create(key)), key, this);
        _endPoints[key] = endPoint;
        return endPoint;
    }

    private static bool IsTransient(SocketError error) => error is SocketError.ConnectionReset or SocketError.ConnectionRefused
        or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.MessageSize or SocketError.NoBufferSpaceAvailable
        or SocketError.Interrupted;

    private static IPEndPoint Normalize(IPEndPoint endPoint)
        => endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;

    private enum DeliveryOutcome
    {
        NoReceiver,
        Delivered,
        TooLarge,
    }

    /// <summary>
    /// The one outstanding receive, reused for every datagram. Whoever moves it from Posted to Completing (the receive
    /// thread with a datagram, the cancellation callback, disposal) completes it; its continuation runs on that thread.
    /// </summary>
    private sealed class PendingReceive : IValueTaskSource<DatagramReceiveResult>
    {
        private readonly DedicatedUdpDatagramChannel _owner;
        private ManualResetValueTaskSourceCore<DatagramReceiveResult> _core = new() { RunContinuationsAsynchronously = false };
        private Memory<byte> _buffer;
        private CancellationToken _token;
        private CancellationTokenRegistration _registration;
        private bool _closedAsResult;
        private int _state;

        public PendingReceive(DedicatedUdpDatagramChannel owner) => _owner = owner;

        public ValueTask<DatagramReceiveResult> Post(Memory<byte> buffer, bool closedAsResult, CancellationToken cancellationToken)
        {
            if (Interlocked.CompareExchange(ref _state, Preparing, Idle) != Idle)
            {
                throw new InvalidOperationException("A receive is already pending on this channel: one receive at a time.");
            }

            _core.Reset();
            _buffer = buffer;
            _closedAsResult = closedAsResult;
            _token = cancellationToken;
            _registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static (state, token) => ((PendingReceive)state!).OnCancelled(token), this)
                : default;
            if (Interlocked.CompareExchange(ref _state, Posted, Preparing) != Preparing)
            {
                // Cancelled while registering.
                Volatile.Write(ref _state, Completing);
                Complete(new OperationCanceledException(cancellationToken));
            }

            return new ValueTask<DatagramReceiveResult>(this, _core.Version);
        }

        public DeliveryOutcome TryDeliver(ReadOnlySpan<byte> datagram, EndPoint from)
        {
            if (Interlocked.CompareExchange(ref _state, Completing, Posted) != Posted)
            {
                return DeliveryOutcome.NoReceiver;
            }

            if (datagram.Length > _buffer.Length)
            {
                // Too large for the caller: dropped, as a truncated datagram is; the receive stays pending. A cancellation that
                // came while this held the receive found it taken, so it is honoured here.
                Volatile.Write(ref _state, Posted);
                if (_token.IsCancellationRequested)
                {
                    TryComplete(new OperationCanceledException(_token));
                }

                return DeliveryOutcome.TooLarge;
            }

            datagram.CopyTo(_buffer.Span);
            _registration.Unregister();
            _buffer = default;
            _core.SetResult(new DatagramReceiveResult(datagram.Length, from));
            return DeliveryOutcome.Delivered;
        }

        public void TryComplete(Exception error)
        {
            if (Interlocked.CompareExchange(ref _state, Completing, Posted) == Posted)
            {
                Complete(error);
            }
        }

        /// <summary>Ends a pending receive because the channel is closed, the way that receive asked for.</summary>
        public void TryCompleteClosed()
        {
            if (Interlocked.CompareExchange(ref _state, Completing, Posted) != Posted)
            {
                return;
            }

            if (_closedAsResult)
            {
                _registration.Unregister();
                _buffer = default;
                _core.SetResult(DatagramReceiveResult.Closed);
            }
            else
            {
                Complete(new ObjectDisposedException(nameof(DedicatedUdpDatagramChannel)));
            }
        }

        public DatagramReceiveResult GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                Volatile.Write(ref _state, Idle);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _core.OnCompleted(continuation, state, token, flags);

        private void OnCancelled(CancellationToken token)
        {
            // A registration of an earlier receive that fired late only cancels a receive made with the same token.
            if (token != _token)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _state, CancelledWhilePreparing, Preparing) == Preparing)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _state, Completing, Posted) == Posted)
            {
                Complete(new OperationCanceledException(token));
            }
        }

        private void Complete(Exception error)
        {
            _registration.Unregister();
            _buffer = default;
            _core.SetException(error);
        }
    }
}
