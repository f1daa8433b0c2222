using System.Net;
using System.Threading.Tasks.Sources;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Bench;

/// <summary>
/// A datagram channel without a network, for measuring the server's per-request path. <see cref="Deliver"/>
/// completes the endpoint's pending receive synchronously (continuations run inline), so one call pushes the
/// datagram through the whole endpoint → layers → router → handler → encoder → <see cref="SendAsync"/> path on
/// the caller's thread, as long as the handler completes synchronously; the receive loop is then waiting
/// again. Sends are counted and the last one kept. One receive at a time, as CoapEndpoint does.
/// </summary>
internal sealed class InMemoryDatagramChannel : IDatagramChannel, IValueTaskSource<DatagramReceiveResult>
{
    private readonly byte[] _lastSent = new byte[2048];
    private ManualResetValueTaskSourceCore<DatagramReceiveResult> _receive; // RunContinuationsAsynchronously = false
    private Memory<byte> _buffer;
    private volatile bool _receivePending;
    private volatile bool _awaited;

    public EndPoint LocalEndPoint { get; } = new IPEndPoint(IPAddress.Loopback, 5683);

    public int MaxDatagramSize => UdpDatagramChannel.DefaultMaxDatagramSize;

    /// <summary>Datagrams the endpoint has sent.</summary>
    public long SentCount { get; private set; }

    /// <summary>The last datagram sent.</summary>
    public ReadOnlySpan<byte> LastSent => _lastSent.AsSpan(0, LastSentLength);

    public int LastSentLength { get; private set; }

    /// <summary>True while the endpoint's receive loop waits for a datagram (has called ReceiveAsync and awaits it).</summary>
    public bool ReceivePending => _receivePending && _awaited;

    public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        // No cancellation registration per receive (that would be measured too): DisposeAsync, which the endpoint
        // calls after cancelling, ends the pending receive.
        _buffer = buffer;
        _receive.Reset();
        _awaited = false;
        _receivePending = true;
        return new ValueTask<DatagramReceiveResult>(this, _receive.Version);
    }

    /// <summary>Hands a datagram to the waiting receive; returns once the endpoint is waiting for the next one.</summary>
    public void Deliver(ReadOnlySpan<byte> datagram, EndPoint remote)
    {
        if (!ReceivePending)
        {
            throw new InvalidOperationException("No receive is pending (a handler did not complete synchronously?).");
        }

        datagram.CopyTo(_buffer.Span);
        _receivePending = false;
        _receive.SetResult(new DatagramReceiveResult(datagram.Length, remote));
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken)
    {
        SentCount++;
        LastSentLength = datagram.Length;
        datagram.Span.CopyTo(_lastSent);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (_receivePending)
        {
            _receivePending = false;
            _receive.SetException(new ObjectDisposedException(nameof(InMemoryDatagramChannel)));
        }

        return ValueTask.CompletedTask;
    }

    DatagramReceiveResult IValueTaskSource<DatagramReceiveResult>.GetResult(short token) => _receive.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<DatagramReceiveResult>.GetStatus(short token) => _receive.GetStatus(token);

    void IValueTaskSource<DatagramReceiveResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        _receive.OnCompleted(continuation, state, token, flags);
        _awaited = true;
    }
}
