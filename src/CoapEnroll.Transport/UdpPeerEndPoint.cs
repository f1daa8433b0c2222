using System.Net;

namespace CoapEnroll.Transport;

/// <summary>
/// A peer's address as <see cref="DedicatedUdpDatagramChannel"/> hands it out: an <see cref="IPEndPoint"/> (equal to, and
/// hashing like, any other <see cref="IPEndPoint"/> of the same address and port) that also keeps the socket address the
/// kernel reported, so that a reply through the same channel needs no serialization and no allocation.
/// </summary>
internal sealed class UdpPeerEndPoint : IPEndPoint
{
    public UdpPeerEndPoint(IPEndPoint normalized, SocketAddress socketAddress, object owner)
        : base(normalized.Address, normalized.Port)
    {
        SocketAddress = socketAddress;
        Owner = owner;
    }

    /// <summary>The address as received (an IPv4-mapped IPv6 address on a dual-mode socket); never modified.</summary>
    public SocketAddress SocketAddress { get; }

    /// <summary>The channel whose socket the address belongs to.</summary>
    public object Owner { get; }
}
