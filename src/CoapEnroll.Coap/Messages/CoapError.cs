namespace CoapEnroll.Coap;

/// <summary>What went wrong, for <see cref="CoapProtocolException"/>.</summary>
public enum CoapError
{
    /// <summary>A datagram is not a well-formed CoAP message (RFC 7252 §3).</summary>
    MessageFormat,
    /// <summary>An option is unrecognised, repeated or out of its length bounds.</summary>
    BadOption,
    /// <summary>The peer answered a confirmable message with Reset.</summary>
    Reset,
    /// <summary>No acknowledgement after MAX_RETRANSMIT retransmissions, or no response in time.</summary>
    Timeout,
    /// <summary>A block-wise transfer could not be completed.</summary>
    BlockTransfer,
    /// <summary>A URI is not a valid coap or coaps URI (RFC 7252 §6).</summary>
    InvalidUri,
    /// <summary>The endpoint was disposed while the operation was outstanding.</summary>
    EndpointClosed,
    /// <summary>The response violated the protocol (for example a token mismatch).</summary>
    ProtocolViolation,
    /// <summary>Text is not valid CoRE Link Format (RFC 6690 §2).</summary>
    InvalidLinkFormat,
    /// <summary>Nothing listens at the remote endpoint: the kernel reported an ICMP port unreachable.</summary>
    Unreachable,
}
