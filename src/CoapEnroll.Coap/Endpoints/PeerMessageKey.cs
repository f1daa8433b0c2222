using System.Net;

namespace CoapEnroll.Coap;

/// <summary>(peer, message ID): the key of duplicate detection and ACK matching (RFC 7252 §4.4, §4.5).</summary>
internal readonly record struct PeerMessageKey(EndPoint Peer, ushort MessageId);
