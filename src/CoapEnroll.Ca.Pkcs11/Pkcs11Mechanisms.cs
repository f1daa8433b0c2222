using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace CoapEnroll.Ca.Pkcs11;

/// <summary>The mechanisms the CA signs with: CKM_ECDSA, CKM_RSA_PKCS over a DigestInfo, CKM_RSA_PKCS_PSS.</summary>
internal static class Pkcs11Mechanisms
{
    // DigestInfo prefixes (RFC 8017 section 9.2 note 1): SEQUENCE { AlgorithmIdentifier { hash OID, NULL }, OCTET STRING (hash) }.
    private static readonly byte[] s_sha256Prefix = Convert.FromHexString("3031300d060960864801650304020105000420");
    private static readonly byte[] s_sha384Prefix = Convert.FromHexString("3041300d060960864801650304020205000430");
    private static readonly byte[] s_sha512Prefix = Convert.FromHexString("3051300d060960864801650304020305000440");

    public static int HashLength(HashAlgorithmName hash) =>
        hash == HashAlgorithmName.SHA256 ? 32
        : hash == HashAlgorithmName.SHA384 ? 48
        : hash == HashAlgorithmName.SHA512 ? 64
        : throw new CryptographicException($"hash {hash.Name} is not SHA-256, SHA-384 or SHA-512");

    /// <summary>The mechanism and the data to hand C_Sign for an RSA signature over <paramref name="hash"/>.</summary>
    public static (IMechanism Mechanism, byte[] Data) ForRsa(byte[] hash, HashAlgorithmName hashAlgorithm, RSASignaturePadding padding)
    {
        var factories = Pkcs11Module.Factories;
        if (padding == RSASignaturePadding.Pkcs1)
        {
            byte[] prefix = hashAlgorithm == HashAlgorithmName.SHA256 ? s_sha256Prefix
                : hashAlgorithm == HashAlgorithmName.SHA384 ? s_sha384Prefix
                : hashAlgorithm == HashAlgorithmName.SHA512 ? s_sha512Prefix
                : throw new CryptographicException($"hash {hashAlgorithm.Name} is not SHA-256, SHA-384 or SHA-512");
            return (factories.MechanismFactory.Create(CKM.CKM_RSA_PKCS), [.. prefix, .. hash]);
        }

        if (padding == RSASignaturePadding.Pss)
        {
            (CKM hashMechanism, CKG mgf) = hashAlgorithm == HashAlgorithmName.SHA256 ? (CKM.CKM_SHA256, CKG.CKG_MGF1_SHA256)
                : hashAlgorithm == HashAlgorithmName.SHA384 ? (CKM.CKM_SHA384, CKG.CKG_MGF1_SHA384)
                : hashAlgorithm == HashAlgorithmName.SHA512 ? (CKM.CKM_SHA512, CKG.CKG_MGF1_SHA512)
                : throw new CryptographicException($"hash {hashAlgorithm.Name} is not SHA-256, SHA-384 or SHA-512");
            // .NET's RSASignaturePadding.Pss uses a salt as long as the hash, as RFC 4055 section 3.1 recommends.
            var parameters = factories.MechanismParamsFactory.CreateCkRsaPkcsPssParams((ulong)hashMechanism, (ulong)mgf, (ulong)hash.Length);
            return (factories.MechanismFactory.Create(CKM.CKM_RSA_PKCS_PSS, parameters), hash);
        }

        throw new CryptographicException($"RSA padding {padding} is not PKCS#1 v1.5 or PSS");
    }
}
