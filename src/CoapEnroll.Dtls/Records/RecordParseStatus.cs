namespace CoapEnroll.Dtls;

/// <summary>
/// Outcome of parsing one record. Every value except <see cref="Success"/> and <see cref="EndOfDatagram"/>
/// means the rest of the datagram is dropped silently (RFC 6347 §4.1.2.7): once a length is
/// untrustworthy, record boundaries are unknown.
/// </summary>
internal enum RecordParseStatus
{
    Success,
    /// <summary>No bytes left in the datagram.</summary>
    EndOfDatagram,
    /// <summary>Fewer bytes than the header or the declared length needs.</summary>
    Truncated,
    /// <summary>Major version is not 254 (not DTLS).</summary>
    BadVersion,
    /// <summary>A content type this implementation does not know.</summary>
    UnknownContentType,
    /// <summary>Length above 2^14 (epoch 0, plaintext) or 2^14 + 2048 (protected) (RFC 6347 §4.1, RFC 5246 §6.2.3).</summary>
    RecordTooLong,
    /// <summary>A tls12_cid record although no CID is expected on this path (CID length 0).</summary>
    UnexpectedConnectionId,
    /// <summary>A tls12_cid record at epoch 0: CIDs are only used once protected (RFC 9146 §4).</summary>
    ConnectionIdAtEpochZero,
}
