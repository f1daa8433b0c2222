namespace CoapEnroll.Coap;

/// <summary>Why a datagram is not a well-formed CoAP message (RFC 7252 §3, §4.1).</summary>
public enum CoapDecodeStatus
{
    Success,
    /// <summary>Fewer than the four header bytes.</summary>
    TooShort,
    /// <summary>Version is not 1.</summary>
    UnknownVersion,
    /// <summary>Token length 9–15 (reserved).</summary>
    InvalidTokenLength,
    /// <summary>The datagram ends inside the token, an option header or an option value.</summary>
    Truncated,
    /// <summary>Option delta 15 without the payload marker, or option length 15 (reserved).</summary>
    ReservedOptionNibble,
    /// <summary>An option number beyond 65535.</summary>
    OptionNumberOverflow,
    /// <summary>A payload marker followed by a zero-length payload.</summary>
    EmptyPayloadAfterMarker,
    /// <summary>An Empty message (0.00) with a token, options or payload.</summary>
    NonEmptyEmptyMessage,
    /// <summary>A code of class 1, 6 or 7.</summary>
    ReservedCodeClass,
}
