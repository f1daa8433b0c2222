using System.Net;
using System.Threading.Channels;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Infrastructure;

/// <summary>
/// An <see cref="IDatagramChannel"/> attached to a <see cref="SimulatedNetwork"/>. It can serve a
/// <see cref="CoapEndpoint"/>, or a test can drive it directly as a raw peer.
/// </summary>
public sealed class SimulatedDatagramChannel : IDatagramChannel
{
    private readonly SimulatedNetwork _network;
    private readonly Channel<(byte[] Data, EndPoint From)> _inbound = Channel.CreateUnbounded<(byte[], EndPoint)>();
    private int _disposed;

    internal SimulatedDatagramChannel(SimulatedNetwork network, EndPoint localEndPoint, int maxDatagramSize)
    {
        _network = network;
        LocalEndPoint = localEndPoint;
        MaxDatagramSize = maxDatagramSize;
    }

    public EndPoint LocalEndPoint { get; }

    public int MaxDatagramSize { get; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public async ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        (byte[] data, EndPoint from) item;
        try
        {
            item = await _inbound.Reader.ReadAsync(cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(SimulatedDatagramChannel));
        }

        // Like UDP, a datagram longer than the buffer is cut.
        int length = Math.Min(item.data.Length, buffer.Length);
        item.data.AsSpan(0, length).CopyTo(buffer.Span);
        return new DatagramReceiveResult(length, item.from);
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        _network.Route(LocalEndPoint, datagram.ToArray(), remoteEndPoint);
        return ValueTask.CompletedTask;
    }

    /// <summary>Raw-peer helper: the next datagram, or null when none arrives within <paramref name="timeout"/>.</summary>
    public async Task<(byte[] Data, EndPoint From)?> TryReceiveAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _inbound.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Raw-peer helper: the next datagram decoded; fails the test when none arrives within <paramref name="timeout"/>.</summary>
    public async Task<CoapMessage> ReceiveMessageAsync(TimeSpan timeout)
    {
        var received = await TryReceiveAsync(timeout) ?? throw new TimeoutException($"Nothing arrived at {LocalEndPoint} within {timeout}.");
        return CoapMessageDecoder.Decode(received.Data);
    }

    /// <summary>Raw-peer helper: sends bytes as they are.</summary>
    public ValueTask SendRawAsync(byte[] datagram, EndPoint remoteEndPoint) => SendAsync(datagram, remoteEndPoint, CancellationToken.None);

    /// <summary>Raw-peer helper: encodes and sends a message.</summary>
    public ValueTask SendMessageAsync(CoapMessage message, EndPoint remoteEndPoint) => SendAsync(CoapMessageEncoder.Encode(message), remoteEndPoint, CancellationToken.None);

    internal void Enqueue(byte[] data, EndPoint from)
    {
        if (!IsDisposed)
        {
            _inbound.Writer.TryWrite((data, from));
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _inbound.Writer.TryComplete();
            _network.Detach(this);
        }

        return ValueTask.CompletedTask;
    }
}
