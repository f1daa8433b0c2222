namespace CoapEnroll.Dtls;

/// <summary>Hello extension types used by this implementation (IANA TLS ExtensionType registry).</summary>
internal enum ExtensionType : ushort
{
    /// <summary>RFC 6066 §3.</summary>
    ServerName = 0,
    /// <summary>RFC 8422 §5.1.1 (formerly elliptic_curves).</summary>
    SupportedGroups = 10,
    /// <summary>RFC 8422 §5.1.2; only uncompressed (0) is used.</summary>
    EcPointFormats = 11,
    /// <summary>RFC 5246 §7.4.1.4.1.</summary>
    SignatureAlgorithms = 13,
    /// <summary>RFC 7366. Meaningless for AEAD suites: never negotiated here (RFC 7366 §3).</summary>
    EncryptThenMac = 22,
    /// <summary>RFC 7627 §5.1; always required here.</summary>
    ExtendedMasterSecret = 23,
    /// <summary>RFC 9146 §3 (the draft used 53; 54 is the final code point).</summary>
    ConnectionId = 54,
    /// <summary>RFC 5746 §3.2; sent empty, renegotiation itself is refused.</summary>
    RenegotiationInfo = 0xff01,
}
