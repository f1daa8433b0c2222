namespace CoapEnroll.Dtls;

/// <summary>A complete handshake message: type, message_seq and body (without the 12-byte header).</summary>
internal sealed record ReassembledHandshakeMessage(HandshakeType Type, ushort MessageSeq, byte[] Body);
