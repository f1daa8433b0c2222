using System.Threading.Tasks.Sources;
using CoapEnroll.Transport;

namespace CoapEnroll.Dtls;

/// <summary>
/// Where <see cref="DtlsServerChannel"/> puts decrypted application data for its one reader. A reader that waits gets the datagram
/// <b>on the delivering thread</b> (the channel's receive loop, on the transport's receive thread when the transport has one): its
/// continuation, the CoAP endpoint's decode and a synchronous handler up to its reply, runs there before the loop reads the next
/// record, like <see cref="DedicatedUdpDatagramChannel"/> does for plain UDP. A reader that is busy elsewhere finds the data in a
/// FIFO, bounded for all sessions together and for each session, so that one session cannot take the whole queue; beyond either
/// bound the datagram is dropped (zeroed back into the pool) and counted, as UDP drops what a full socket buffer cannot take.
/// </summary>
internal sealed class ApplicationDataInbox : IValueTaskSource<DatagramReceiveResult>
{
    private const int Idle = 0;
    private const int Waiting = 1;
    private const int Completed = 2;

    private readonly Lock _lock = new();
    private readonly Queue<(PooledDatagram Data, DtlsConnection From)> _queue = new();
    private readonly int _maxQueued;
    private readonly int _maxQueuedPerSession;
    private ManualResetValueTaskSourceCore<DatagramReceiveResult> _core = new() { RunContinuationsAsynchronously = false };

    // All under _lock: the reader's state, its buffer and token while it waits.
    private int _readerState;
    private Memory<byte> _buffer;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;
    private bool _closedAsResult;
    private bool _closed;
    private long _dropped;

    public ApplicationDataInbox(int maxQueued, int maxQueuedPerSession)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueued, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueuedPerSession, 1);
        _maxQueued = maxQueued;
        _maxQueuedPerSession = maxQueuedPerSession;
    }

    /// <summary>Datagrams dropped because a bound was reached or the inbox was closed.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Datagrams waiting for the reader.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="data"/> (the inbox owns it from here on, whatever happens): completes the waiting reader on this thread, or
    /// queues it, or drops it. Must not be called while holding a lock the reader's continuation may take.
    /// </summary>
    public void Deliver(PooledDatagram data, DtlsConnection from)
    {
        Memory<byte> buffer;
        lock (_lock)
        {
            if (_closed || _readerState != Waiting || _queue.Count > 0)
            {
                // A reader that is not waiting, or one that must first take what is queued (FIFO).
                if (_closed || _queue.Count >= _maxQueued || from.QueuedApplicationData >= _maxQueuedPerSession)
                {
                    _dropped++;
                    data.Return();
                    return;
                }

                from.QueuedApplicationData++;
                _queue.Enqueue((data, from));
                return;
            }

            _readerState = Completed;
            buffer = _buffer;
            _buffer = default;
        }

        // Outside the lock: the continuation runs here, and asks for the next datagram (which takes the lock) before it returns.
        _registration.Unregister();
        int length = data.CopyToAndReturn(buffer.Span);
        _core.SetResult(new DatagramReceiveResult(length, from.EndPoint));
    }

    /// <summary>
    /// The next datagram: at once when one is queued, otherwise when <see cref="Deliver"/> brings one. One receive at a time (a
    /// second concurrent one throws <see cref="InvalidOperationException"/>). Fails with <see cref="ObjectDisposedException"/> once
    /// the inbox is closed and empty, with <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        => ReceiveAsync(buffer, closedAsResult: false, cancellationToken);

    /// <summary>
    /// As <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/>; with <paramref name="closedAsResult"/> a closed and empty inbox
    /// ends the receive with <see cref="DatagramReceiveResult.Closed"/> instead of <see cref="ObjectDisposedException"/>.
    /// </summary>
    public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, bool closedAsResult, CancellationToken cancellationToken)
    {
        (PooledDatagram Data, DtlsConnection From) item;
        lock (_lock)
        {
            if (_readerState != Idle)
            {
                throw new InvalidOperationException("A receive is already pending on this channel: one receive at a time.");
            }

            if (!_queue.TryDequeue(out item))
            {
                if (_closed)
                {
                    return closedAsResult
                        ? ValueTask.FromResult(DatagramReceiveResult.Closed)
                        : ValueTask.FromException<DatagramReceiveResult>(new ObjectDisposedException(nameof(DtlsServerChannel)));
                }

                if (cancellationToken.IsCancellationRequested)
                {
                    return ValueTask.FromCanceled<DatagramReceiveResult>(cancellationToken);
                }

                _core.Reset();
                _readerState = Waiting;
                _buffer = buffer;
                _token = cancellationToken;
                _closedAsResult = closedAsResult;
                // Registered under the lock: a callback that fires at once waits for it, and then finds the reader waiting.
                _registration = cancellationToken.CanBeCanceled
                    ? cancellationToken.UnsafeRegister(static (state, token) => ((ApplicationDataInbox)state!).Cancel(token), this)
                    : default;
                return new ValueTask<DatagramReceiveResult>(this, _core.Version);
            }

            item.From.QueuedApplicationData--;
        }

        return ValueTask.FromResult(new DatagramReceiveResult(item.Data.CopyToAndReturn(buffer.Span), item.From.EndPoint));
    }

    /// <summary>
    /// No more deliveries: later ones are dropped. What is queued stays readable unless <paramref name="discardQueued"/> (then it is
    /// zeroed back into the pool); a reader waiting on an empty inbox fails with <see cref="ObjectDisposedException"/> (or gets
    /// <see cref="DatagramReceiveResult.Closed"/>, if it asked for that).
    /// </summary>
    public void Close(bool discardQueued)
    {
        bool failReader;
        bool closedAsResult;
        List<PooledDatagram>? discarded = null;
        lock (_lock)
        {
            _closed = true;
            if (discardQueued)
            {
                while (_queue.TryDequeue(out var item))
                {
                    item.From.QueuedApplicationData--;
                    (discarded ??= []).Add(item.Data);
                }
            }

            failReader = _readerState == Waiting && _queue.Count == 0;
            closedAsResult = _closedAsResult;
            if (failReader)
            {
                _readerState = Completed;
                _buffer = default;
            }
        }

        foreach (PooledDatagram data in discarded ?? [])
        {
            data.Return();
        }

        if (failReader)
        {
            _registration.Unregister();
            if (closedAsResult)
            {
                _core.SetResult(DatagramReceiveResult.Closed);
            }
            else
            {
                _core.SetException(new ObjectDisposedException(nameof(DtlsServerChannel)));
            }
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
            lock (_lock)
            {
                _readerState = Idle;
            }
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    private void Cancel(CancellationToken token)
    {
        lock (_lock)
        {
            // A late callback of an earlier receive only cancels a receive made with the same token.
            if (_readerState != Waiting || token != _token)
            {
                return;
            }

            _readerState = Completed;
            _buffer = default;
        }

        _core.SetException(new OperationCanceledException(token));
    }
}
