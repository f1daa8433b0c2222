namespace CoapEnroll.Dtls;

/// <summary>
/// TLS 1.2 SignatureAndHashAlgorithm (RFC 5246 §7.4.1.4.1) as one 16-bit value: high byte hash,
/// low byte signature. The names are the TLS 1.3 ones; in TLS 1.2 the curve is not bound by the code point.
/// </summary>
internal enum SignatureScheme : ushort
{
    /// <summary>sha256(4), ecdsa(3).</summary>
    EcdsaSecp256r1Sha256 = 0x0403,
    /// <summary>sha384(5), ecdsa(3).</summary>
    EcdsaSecp384r1Sha384 = 0x0503,
    /// <summary>sha256(4), rsa(1): recognised in peer lists, never used here.</summary>
    RsaPkcs1Sha256 = 0x0401,
}
