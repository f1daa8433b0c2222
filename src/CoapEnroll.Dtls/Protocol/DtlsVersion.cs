namespace CoapEnroll.Dtls;

/// <summary>DTLS wire versions (RFC 6347 §4.1: the one's complement of the DTLS version).</summary>
internal static class DtlsVersion
{
    /// <summary>DTLS 1.2, {254, 253}.</summary>
    public const ushort Dtls12 = 0xFEFD;

    /// <summary>
    /// DTLS 1.0, {254, 255}. Many clients put it in the record version of the ClientHello (RFC 6347
    /// §4.1 allows any value there); it is never negotiated.
    /// </summary>
    public const ushort Dtls10 = 0xFEFF;
}
