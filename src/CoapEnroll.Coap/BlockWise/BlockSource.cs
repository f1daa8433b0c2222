using System.Net;
using System.Net.Sockets;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap;

/// <summary>
/// Where a Block1 transfer comes from beyond its peer, for the reassembly budget: the source address its peer's ports and
/// sessions share, and whether the peer authenticated.
/// </summary>
/// <param name="Address">
/// An IPv4 address, or the /64 prefix of an IPv6 address (one host commonly has a whole /64 to pick addresses from, RFC
/// 4291 §2.5.1); an endpoint that is neither is its own address.
/// </param>
/// <param name="Authenticated">
/// True for a DTLS session whose peer authenticated with a certificate that chained to a trust anchor in the handshake, or
/// with a PSK; plain UDP, anonymous sessions and sessions with an unvalidated certificate are strangers.
/// </param>
internal readonly record struct BlockSource(object Address, bool Authenticated)
{
    public static BlockSource Of(EndPoint remote)
    {
        if (remote is ISecureSession session)
        {
            // PskIdentity copies the identity; this runs once per transfer, not per block.
            bool authenticated = session.IsEstablished && (session.IsPeerCertificateValidated || session.PskIdentity is not null);
            return new BlockSource(AddressOf(session.RemoteEndPoint.Address), authenticated);
        }

        return new BlockSource(remote is IPEndPoint ip ? AddressOf(ip.Address) : remote, false);
    }

    /// <summary>Only <see cref="Address"/> of <see cref="Of"/>, without looking at how the peer authenticated.</summary>
    public static object AddressOf(EndPoint remote) => remote switch
    {
        ISecureSession session => AddressOf(session.RemoteEndPoint.Address),
        IPEndPoint ip => AddressOf(ip.Address),
        _ => remote,
    };

    private static IPAddress AddressOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    public override string ToString() => Address is IPAddress { AddressFamily: AddressFamily.InterNetworkV6 } v6 ? $"{v6}/64" : Address.ToString() ?? "?";
}
