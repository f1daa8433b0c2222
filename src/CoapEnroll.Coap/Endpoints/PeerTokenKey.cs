using System.Net;

namespace CoapEnroll.Coap;

/// <summary>(peer, token): how responses find their request (RFC 7252 §5.3.2). A token is at most 8 bytes, so it packs into a ulong with its length.</summary>
internal readonly record struct PeerTokenKey(EndPoint Peer, ulong Token, int Length)
{
    public static PeerTokenKey Create(EndPoint peer, ReadOnlySpan<byte> token)
    {
        ulong value = 0;
        foreach (byte b in token)
        {
            value = (value << 8) | b;
        }

        return new PeerTokenKey(peer, value, token.Length);
    }
}
