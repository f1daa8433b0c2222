namespace CoapEnroll.Dtls;

/// <summary>
/// The cipher suites this implementation supports. Other values may appear in a peer's
/// ClientHello; they are carried as raw values of this enum and never selected.
/// </summary>
public enum CipherSuite : ushort
{
    /// <summary>RFC 7251 §2; mandatory in RFC 7925 §4.4 and RFC 9148.</summary>
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 = 0xC0AE,
    /// <summary>RFC 7251 §2.</summary>
    TLS_ECDHE_ECDSA_WITH_AES_128_CCM = 0xC0AC,
    /// <summary>RFC 5289 §3 (AEAD per RFC 5288).</summary>
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xC02B,
    /// <summary>RFC 6655 §4; the RFC 7925 §3 PSK profile.</summary>
    TLS_PSK_WITH_AES_128_CCM_8 = 0xC0A8,
}
