using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Fuzz;

/// <summary>A channel nothing arrives on and whose sends go nowhere: the endpoint a request context names, never started.</summary>
internal sealed class IdleDatagramChannel : IDatagramChannel
{
    public EndPoint LocalEndPoint { get; } = new IPEndPoint(IPAddress.Loopback, 5683);

    public int MaxDatagramSize => 1152;

    public async ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        throw new OperationCanceledException(cancellationToken);
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
