namespace CoapEnroll.Ca;

/// <summary>Subject public key types a profile accepts.</summary>
[Flags]
public enum KeyTypes
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>ECDSA on NIST P-256 (secp256r1, RFC 5480).</summary>
    EcP256 = 1,

    /// <summary>ECDSA on NIST P-384 (secp384r1, RFC 5480).</summary>
    EcP384 = 2,

    /// <summary>RSA of at least the profile's minimum modulus size (RFC 8017).</summary>
    Rsa = 4,

    /// <summary>All of the above.</summary>
    All = EcP256 | EcP384 | Rsa,
}
