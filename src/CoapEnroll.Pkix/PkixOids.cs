namespace CoapEnroll.Pkix;

/// <summary>Object identifiers of the CMS structures and algorithms this assembly reads and writes.</summary>
public static class PkixOids
{
    /// <summary>id-data (RFC 5652 §4).</summary>
    public const string Data = "1.2.840.113549.1.7.1";

    /// <summary>id-signedData (RFC 5652 §5.1).</summary>
    public const string SignedData = "1.2.840.113549.1.7.2";

    /// <summary>id-envelopedData (RFC 5652 §6.1).</summary>
    public const string EnvelopedData = "1.2.840.113549.1.7.3";

    /// <summary>id-ct-KP-aKeyPackage (RFC 5958 §2).</summary>
    public const string AsymmetricKeyPackage = "2.16.840.1.101.2.1.2.78.5";

    /// <summary>
    /// id-kp-cmKGA (RFC 9810 §4.5): the extended key usage of a CMP key generation authority that is not a CA, in the
    /// certificate that signs the AsymmetricKeyPackage of a centrally generated key.
    /// </summary>
    public const string CmpKeyGenerationAuthority = "1.3.6.1.5.5.7.3.32";

    /// <summary>id-ecPublicKey (RFC 5480 §2.1.1).</summary>
    public const string EcPublicKey = "1.2.840.10045.2.1";

    /// <summary>rsaEncryption (RFC 8017 Appendix C).</summary>
    public const string RsaEncryption = "1.2.840.113549.1.1.1";

    /// <summary>id-aes128-CBC (RFC 3565 §4.1).</summary>
    public const string Aes128Cbc = "2.16.840.1.101.3.4.1.2";

    /// <summary>id-aes256-CBC (RFC 3565 §4.1).</summary>
    public const string Aes256Cbc = "2.16.840.1.101.3.4.1.42";

    /// <summary>id-aes128-wrap (RFC 3565 §2.3.2).</summary>
    public const string Aes128Wrap = "2.16.840.1.101.3.4.1.5";

    /// <summary>id-aes192-wrap (RFC 3565 §2.3.2).</summary>
    public const string Aes192Wrap = "2.16.840.1.101.3.4.1.25";

    /// <summary>id-aes256-wrap (RFC 3565 §2.3.2).</summary>
    public const string Aes256Wrap = "2.16.840.1.101.3.4.1.45";

    /// <summary>dhSinglePass-stdDH-sha1kdf-scheme (RFC 5753 §7.1.4).</summary>
    public const string EcdhStdSha1Kdf = "1.3.133.16.840.63.0.2";

    /// <summary>dhSinglePass-stdDH-sha256kdf-scheme (RFC 5753 §7.1.4).</summary>
    public const string EcdhStdSha256Kdf = "1.3.132.1.11.1";

    /// <summary>dhSinglePass-stdDH-sha384kdf-scheme (RFC 5753 §7.1.4).</summary>
    public const string EcdhStdSha384Kdf = "1.3.132.1.11.2";

    /// <summary>dhSinglePass-stdDH-sha512kdf-scheme (RFC 5753 §7.1.4).</summary>
    public const string EcdhStdSha512Kdf = "1.3.132.1.11.3";

    /// <summary>dhSinglePass-cofactorDH-sha1kdf-scheme (RFC 5753 §7.1.4).</summary>
    public const string EcdhCofactorSha1Kdf = "1.3.133.16.840.63.0.3";

    /// <summary>dhSinglePass-cofactorDH-sha256kdf-scheme (RFC 5753 §7.1.4).</summary>
    public const string EcdhCofactorSha256Kdf = "1.3.132.1.14.1";

    /// <summary>dhSinglePass-cofactorDH-sha384kdf-scheme (RFC 5753 §7.1.4).</summary>
    public const string EcdhCofactorSha384Kdf = "1.3.132.1.14.2";

    /// <summary>dhSinglePass-cofactorDH-sha512kdf-scheme (RFC 5753 §7.1.4).</summary>
    public const string EcdhCofactorSha512Kdf = "1.3.132.1.14.3";
}
