using System.Net;

namespace CoapEnroll.Transport;

/// <summary>
/// The kernel reported that nothing listens at the remote endpoint of a connected client channel (an ICMP port
/// unreachable for an earlier datagram, seen as ConnectionRefused/ConnectionReset). Only channels made with
/// <see cref="UdpDatagramChannel.ConnectTo(System.Net.IPEndPoint, int)"/> raise it: a server socket serves many peers and ignores one peer's ICMP errors.
/// </summary>
public sealed class RemoteUnreachableException : IOException
{
    public RemoteUnreachableException(EndPoint remoteEndPoint)
        : base($"nothing listens on {remoteEndPoint} (port unreachable)")
    {
        RemoteEndPoint = remoteEndPoint;
    }

    public RemoteUnreachableException(EndPoint remoteEndPoint, Exception innerException)
        : base($"nothing listens on {remoteEndPoint} (port unreachable)", innerException)
    {
        RemoteEndPoint = remoteEndPoint;
    }

    /// <summary>The endpoint nothing listens on.</summary>
    public EndPoint RemoteEndPoint { get; }
}
