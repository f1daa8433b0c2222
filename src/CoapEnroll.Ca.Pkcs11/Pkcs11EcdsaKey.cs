using System.Security.Cryptography;

namespace CoapEnroll.Ca.Pkcs11;

/// <summary>
/// An <see cref="ECDsa"/> whose private key is on the token: the hash is computed here and signed with CKM_ECDSA, which returns
/// r||s (PKCS#11 v2.40 section 2.3.1) as <see cref="SignHash(byte[])"/> does; the base class converts to DER where a caller asks
/// for it. The public key is exported; the private key cannot be.
/// </summary>
internal sealed class Pkcs11EcdsaKey : ECDsa
{
    private readonly Func<byte[], byte[]> _signHash;
    private readonly ECParameters _public;

    public Pkcs11EcdsaKey(Func<byte[], byte[]> signHash, ECParameters publicParameters)
    {
        _signHash = signHash;
        _public = publicParameters;
        KeySizeValue = publicParameters.Q.X!.Length switch
        {
            32 => 256,
            48 => 384,
            _ => 521,
        };
        LegalKeySizesValue = [new KeySizes(KeySizeValue, KeySizeValue, 0)];
    }

    public override byte[] SignHash(byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        byte[] signature = _signHash(hash);
        int fieldLength = _public.Q.X!.Length;
        return signature.Length == 2 * fieldLength
            ? signature
            : throw new CryptographicException($"the token returned an ECDSA signature of {signature.Length} octets, not {2 * fieldLength} (r||s)");
    }

    public override bool VerifyHash(byte[] hash, byte[] signature)
    {
        using var key = ECDsa.Create(_public);
        return key.VerifyHash(hash, signature);
    }

    public override ECParameters ExportParameters(bool includePrivateParameters) => includePrivateParameters
        ? throw new CryptographicException("the private key stays on the PKCS#11 token")
        : new ECParameters { Curve = _public.Curve, Q = new ECPoint { X = (byte[])_public.Q.X!.Clone(), Y = (byte[])_public.Q.Y!.Clone() } };

    public override ECParameters ExportExplicitParameters(bool includePrivateParameters) =>
        throw new NotSupportedException("a PKCS#11 key exports its named curve only");

    public override void ImportParameters(ECParameters parameters) => throw new NotSupportedException("a PKCS#11 key cannot be replaced");

    public override void GenerateKey(ECCurve curve) => throw new NotSupportedException("a PKCS#11 key is generated on the token (coapenroll ca init)");

    protected override byte[] HashData(byte[] data, int offset, int count, HashAlgorithmName hashAlgorithm) =>
        CryptographicOperations.HashData(hashAlgorithm, data.AsSpan(offset, count));

    protected override byte[] HashData(Stream data, HashAlgorithmName hashAlgorithm) => CryptographicOperations.HashData(hashAlgorithm, data);
}
