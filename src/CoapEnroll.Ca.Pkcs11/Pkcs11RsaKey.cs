using System.Security.Cryptography;

namespace CoapEnroll.Ca.Pkcs11;

/// <summary>
/// An <see cref="RSA"/> whose private key is on the token: the hash is computed here and signed with CKM_RSA_PKCS over its
/// DigestInfo (RFC 8017 section 9.2) or with CKM_RSA_PKCS_PSS, which takes the hash itself (PKCS#11 v2.40 section 2.1.14).
/// Signing only: the public key is exported, the private key cannot be, nothing is decrypted.
/// </summary>
internal sealed class Pkcs11RsaKey : RSA
{
    private readonly Func<byte[], HashAlgorithmName, RSASignaturePadding, byte[]> _signHash;
    private readonly RSAParameters _public;

    public Pkcs11RsaKey(Func<byte[], HashAlgorithmName, RSASignaturePadding, byte[]> signHash, RSAParameters publicParameters)
    {
        _signHash = signHash;
        _public = publicParameters;
        KeySizeValue = publicParameters.Modulus!.Length * 8;
        LegalKeySizesValue = [new KeySizes(KeySizeValue, KeySizeValue, 0)];
    }

    public override byte[] SignHash(byte[] hash, HashAlgorithmName hashAlgorithm, RSASignaturePadding padding)
    {
        ArgumentNullException.ThrowIfNull(hash);
        ArgumentNullException.ThrowIfNull(padding);
        if (hash.Length != Pkcs11Mechanisms.HashLength(hashAlgorithm))
        {
            throw new CryptographicException($"a {hashAlgorithm.Name} hash is {Pkcs11Mechanisms.HashLength(hashAlgorithm)} octets, not {hash.Length}");
        }

        return _signHash(hash, hashAlgorithm, padding);
    }

    public override bool VerifyHash(byte[] hash, byte[] signature, HashAlgorithmName hashAlgorithm, RSASignaturePadding padding)
    {
        using var key = RSA.Create(_public);
        return key.VerifyHash(hash, signature, hashAlgorithm, padding);
    }

    public override RSAParameters ExportParameters(bool includePrivateParameters) => includePrivateParameters
        ? throw new CryptographicException("the private key stays on the PKCS#11 token")
        : new RSAParameters { Modulus = (byte[])_public.Modulus!.Clone(), Exponent = (byte[])_public.Exponent!.Clone() };

    public override void ImportParameters(RSAParameters parameters) => throw new NotSupportedException("a PKCS#11 key cannot be replaced");

    protected override byte[] HashData(byte[] data, int offset, int count, HashAlgorithmName hashAlgorithm) =>
        CryptographicOperations.HashData(hashAlgorithm, data.AsSpan(offset, count));

    protected override byte[] HashData(Stream data, HashAlgorithmName hashAlgorithm) => CryptographicOperations.HashData(hashAlgorithm, data);
}
