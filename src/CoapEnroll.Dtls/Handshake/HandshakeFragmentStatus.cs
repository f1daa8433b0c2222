namespace CoapEnroll.Dtls;

/// <summary>What <see cref="HandshakeReassembler.Add"/> did with a fragment.</summary>
internal enum HandshakeFragmentStatus
{
    /// <summary>Stored (new bytes, or a harmless duplicate of bytes already held).</summary>
    Accepted,
    /// <summary>
    /// message_seq below the next expected one: the peer is retransmitting a flight we already processed,
    /// which per RFC 6347 §4.2.4 may mean our last flight was lost (the state machine decides).
    /// </summary>
    Retransmission,
    /// <summary>message_seq too far ahead to buffer; dropped.</summary>
    TooFarAhead,
    /// <summary>Type or total length disagrees with earlier fragments of the same message_seq, or
    /// overlapping bytes differ; dropped.</summary>
    Inconsistent,
    /// <summary>Total length above the configured maximum; dropped.</summary>
    TooLarge,
}
