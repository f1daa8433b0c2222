namespace CoapEnroll.Dtls;

/// <summary>Record content types (RFC 5246 §6.2.1, RFC 9146 §3 for <see cref="Tls12Cid"/>).</summary>
internal enum ContentType : byte
{
    /// <summary>Not a valid record type; used by RFC 9146 inner plaintext padding (zeros).</summary>
    Invalid = 0,
    ChangeCipherSpec = 20,
    Alert = 21,
    Handshake = 22,
    ApplicationData = 23,
    /// <summary>RFC 9146 §4: outer type of a record carrying a connection ID; the real type is inside.</summary>
    Tls12Cid = 25,
}
