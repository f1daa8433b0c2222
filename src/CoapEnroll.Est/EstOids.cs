using CoapEnroll.Pkix;

namespace CoapEnroll.Est;

/// <summary>Object identifiers used by EST; those CMS shares are <see cref="PkixOids"/>'s.</summary>
internal static class EstOids
{
    /// <summary>PKCS#9 challengePassword (RFC 2985 §5.4.1), carrier of the tls-unique POP link (RFC 7030 §3.5).</summary>
    public const string ChallengePassword = "1.2.840.113549.1.9.7";

    /// <summary>PKCS#9 extensionRequest (RFC 2985 §5.4.2).</summary>
    public const string ExtensionRequest = "1.2.840.113549.1.9.14";

    /// <summary>SMIMECapabilities (RFC 8551 §2.5.2).</summary>
    public const string SmimeCapabilities = "1.2.840.113549.1.9.15";

    /// <summary>id-aa-decryptKeyID (RFC 4108 §2.2.5): symmetric key for the server-generated key (RFC 7030 §4.4.1.1).</summary>
    public const string DecryptKeyIdentifier = "1.2.840.113549.1.9.16.2.37";

    /// <summary>id-aa-asymmDecryptKeyID (RFC 7030 §4.4.1.2).</summary>
    public const string AsymmetricDecryptKeyIdentifier = "1.2.840.113549.1.9.16.2.54";

    /// <summary>id-ct-KP-aKeyPackage (RFC 5958 §2).</summary>
    public const string AsymmetricKeyPackage = PkixOids.AsymmetricKeyPackage;

    public const string EcPublicKey = PkixOids.EcPublicKey;
    public const string Secp256r1 = "1.2.840.10045.3.1.7";
    public const string EcdsaWithSha256 = "1.2.840.10045.4.3.2";

    public const string RsaEncryption = PkixOids.RsaEncryption;

    /// <summary>id-mgf1 (RFC 4055 §2.2) and the hash algorithms of RSAES-OAEP-params.</summary>
    public const string Mgf1 = "1.2.840.113549.1.1.8";
    public const string Sha1 = "1.3.14.3.2.26";
    public const string Sha256 = "2.16.840.1.101.3.4.2.1";
    public const string Sha384 = "2.16.840.1.101.3.4.2.2";
    public const string Sha512 = "2.16.840.1.101.3.4.2.3";
    public const string RsaesOaep = "1.2.840.113549.1.1.7";
    public const string Aes128Cbc = PkixOids.Aes128Cbc;
    public const string Aes256Cbc = PkixOids.Aes256Cbc;

    /// <summary>id-aes128-wrap, id-aes192-wrap, id-aes256-wrap (RFC 3565 §2.3.2).</summary>
    public const string Aes128Wrap = PkixOids.Aes128Wrap;
    public const string Aes192Wrap = PkixOids.Aes192Wrap;
    public const string Aes256Wrap = PkixOids.Aes256Wrap;

    /// <summary>Ephemeral-static ECDH with the ANSI X9.63 KDF (RFC 5753 §7.1.4): standard and cofactor DH, by KDF hash.</summary>
    public const string EcdhStdSha1Kdf = PkixOids.EcdhStdSha1Kdf;
    public const string EcdhStdSha256Kdf = PkixOids.EcdhStdSha256Kdf;
    public const string EcdhStdSha384Kdf = PkixOids.EcdhStdSha384Kdf;
    public const string EcdhStdSha512Kdf = PkixOids.EcdhStdSha512Kdf;
    public const string EcdhCofactorSha1Kdf = PkixOids.EcdhCofactorSha1Kdf;
    public const string EcdhCofactorSha256Kdf = PkixOids.EcdhCofactorSha256Kdf;
    public const string EcdhCofactorSha384Kdf = PkixOids.EcdhCofactorSha384Kdf;
    public const string EcdhCofactorSha512Kdf = PkixOids.EcdhCofactorSha512Kdf;

    /// <summary>id-envelopedData (RFC 5652 §6.1).</summary>
    public const string EnvelopedData = PkixOids.EnvelopedData;

    /// <summary>id-kp-cmcRA (RFC 6402 §2.10).</summary>
    public const string CmcRa = "1.3.6.1.5.5.7.3.28";

    public const string SubjectAltName = "2.5.29.17";
}
