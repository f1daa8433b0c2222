using System.Net;

namespace CoapEnroll.Transport;

/// <summary>One received datagram: how many bytes landed in the buffer, and from whom.</summary>
public readonly record struct DatagramReceiveResult(int ReceivedBytes, EndPoint RemoteEndPoint)
{
    /// <summary>What <see cref="IDatagramChannel.ReceiveOrClosedAsync"/> returns once the channel is closed: no datagram, no sender.</summary>
    public static DatagramReceiveResult Closed => default;

    /// <summary>True for <see cref="Closed"/>: a received datagram always has a sender.</summary>
    public bool IsClosed => RemoteEndPoint is null;
}
