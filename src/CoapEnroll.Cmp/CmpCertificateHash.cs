using System.Security.Cryptography;

namespace CoapEnroll.Cmp;

/// <summary>The certHash of certConf (RFC 9810 §5.3.18), computed alike by the server that checks it and the client that sends it.</summary>
internal static class CmpCertificateHash
{
    /// <summary>
    /// The hash of <paramref name="certificateDer"/> with <paramref name="algorithm"/>: a hash OID (certConf's hashAlg) or the
    /// certificate's signature algorithm OID, whose hash is meant. Null for an algorithm without a hash this code knows.
    /// </summary>
    public static byte[]? Compute(ReadOnlySpan<byte> certificateDer, string? algorithm) => algorithm switch
    {
        "2.16.840.1.101.3.4.2.1" or "1.2.840.10045.4.3.2" or "1.2.840.113549.1.1.11" => SHA256.HashData(certificateDer),
        "2.16.840.1.101.3.4.2.2" or "1.2.840.10045.4.3.3" or "1.2.840.113549.1.1.12" => SHA384.HashData(certificateDer),
        "2.16.840.1.101.3.4.2.3" or "1.2.840.10045.4.3.4" or "1.2.840.113549.1.1.13" => SHA512.HashData(certificateDer),
        _ => null,
    };
}
