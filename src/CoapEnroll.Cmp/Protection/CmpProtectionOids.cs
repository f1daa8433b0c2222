using System.Security.Cryptography;

namespace CoapEnroll.Cmp;

/// <summary>Object identifiers of CMP message protection (RFC 9810 §5.1.3, RFC 9481) and their hash algorithms.</summary>
internal static class CmpProtectionOids
{
    public const string PasswordBasedMac = "1.2.840.113533.7.66.13";
    public const string Pbmac1 = "1.2.840.113549.1.5.14";
    public const string Pbkdf2 = "1.2.840.113549.1.5.12";

    public const string Sha1 = "1.3.14.3.2.26";
    public const string Sha256 = "2.16.840.1.101.3.4.2.1";
    public const string Sha384 = "2.16.840.1.101.3.4.2.2";
    public const string Sha512 = "2.16.840.1.101.3.4.2.3";

    public const string HmacWithSha1 = "1.2.840.113549.2.7";
    public const string HmacWithSha256 = "1.2.840.113549.2.9";
    public const string HmacWithSha384 = "1.2.840.113549.2.10";
    public const string HmacWithSha512 = "1.2.840.113549.2.11";

    /// <summary>hmac-sha1 of RFC 3370 / IPsec (1.3.6.1.5.5.8.1.2), which OpenSSL writes for PasswordBasedMac.</summary>
    public const string HmacSha1 = "1.3.6.1.5.5.8.1.2";

    public const string EcdsaWithSha256 = "1.2.840.10045.4.3.2";
    public const string EcdsaWithSha384 = "1.2.840.10045.4.3.3";
    public const string EcdsaWithSha512 = "1.2.840.10045.4.3.4";
    public const string Sha256WithRsa = "1.2.840.113549.1.1.11";
    public const string Sha384WithRsa = "1.2.840.113549.1.1.12";
    public const string Sha512WithRsa = "1.2.840.113549.1.1.13";
    public const string RsassaPss = "1.2.840.113549.1.1.10";
    public const string Mgf1 = "1.2.840.113549.1.1.8";
    public const string Ed25519 = "1.3.101.112";
    public const string Ed448 = "1.3.101.113";

    /// <summary>The hash of a one-way function OID (PasswordBasedMac owf), or null.</summary>
    public static HashAlgorithmName? Hash(string oid) => oid switch
    {
        Sha1 => HashAlgorithmName.SHA1,
        Sha256 => HashAlgorithmName.SHA256,
        Sha384 => HashAlgorithmName.SHA384,
        Sha512 => HashAlgorithmName.SHA512,
        _ => null,
    };

    /// <summary>The hash of an HMAC OID, or null.</summary>
    public static HashAlgorithmName? Hmac(string oid) => oid switch
    {
        HmacWithSha1 or HmacSha1 => HashAlgorithmName.SHA1,
        HmacWithSha256 => HashAlgorithmName.SHA256,
        HmacWithSha384 => HashAlgorithmName.SHA384,
        HmacWithSha512 => HashAlgorithmName.SHA512,
        _ => null,
    };

    public static int HashLength(HashAlgorithmName hash) =>
        hash == HashAlgorithmName.SHA1 ? 20 :
        hash == HashAlgorithmName.SHA256 ? 32 :
        hash == HashAlgorithmName.SHA384 ? 48 :
        hash == HashAlgorithmName.SHA512 ? 64 :
        throw new ArgumentOutOfRangeException(nameof(hash), hash.Name, "SHA-1 or SHA-2 expected");

    public static bool IsSignature(string oid) => oid is EcdsaWithSha256 or EcdsaWithSha384 or EcdsaWithSha512
        or Sha256WithRsa or Sha384WithRsa or Sha512WithRsa or RsassaPss or Ed25519 or Ed448;
}
