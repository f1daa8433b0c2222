using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Ca;

/// <summary>
/// PKCS#10's proof of possession: the signature over certificationRequestInfo with the requested key (RFC 2986 section 3,
/// RFC 7030 section 3.4). Verified here on the already decoded request for the algorithms <see cref="SignatureAlgorithm"/> knows;
/// any other algorithm, and a key this CA cannot use, is refused with its own reason, never as a signature that does not verify.
/// </summary>
internal sealed class Pkcs10SignatureProof : ProofOfPossession
{
    private readonly ReadOnlyMemory<byte> _info;
    private readonly SignatureAlgorithm _algorithm;
    private readonly byte[] _signature;
    private readonly PublicKey _key;

    private Pkcs10SignatureProof(ReadOnlyMemory<byte> info, SignatureAlgorithm algorithm, byte[] signature, PublicKey key)
    {
        _info = info;
        _algorithm = algorithm;
        _signature = signature;
        _key = key;
    }

    public override ProofOfPossessionMethod Method => ProofOfPossessionMethod.Signature;

    public override HashAlgorithmName? SignatureHashAlgorithm => _algorithm.Family == SignatureFamily.Unsupported ? null : _algorithm.Hash;

    /// <summary>
    /// Reads the signature part of a PKCS#10 CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm
    /// AlgorithmIdentifier, signature BIT STRING }; null with the problem when it is not well-formed.
    /// </summary>
    public static Pkcs10SignatureProof? TryCreate(ReadOnlyMemory<byte> der, PublicKey key, out string? problem)
    {
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            AsnReader outer = reader.ReadSequence();
            ReadOnlyMemory<byte> info = outer.ReadEncodedValue();
            ReadOnlyMemory<byte> identifier = outer.ReadEncodedValue();
            byte[] signature = outer.ReadBitString(out int unusedBits);
            outer.ThrowIfNotEmpty();
            if (unusedBits != 0)
            {
                problem = $"the signature BIT STRING has {unusedBits} unused bits";
                return null;
            }

            SignatureAlgorithm? algorithm = SignatureAlgorithm.Read(identifier, out problem);
            return algorithm is null ? null : new Pkcs10SignatureProof(info, algorithm, signature, key);
        }
        catch (AsnContentException ex)
        {
            problem = $"the CSR signature cannot be decoded: {ex.Message}";
            return null;
        }
    }

    protected override ProofOfPossessionResult CheckCore()
    {
        ProofOfPossessionResult result = SignatureProofs.Verify(_info, _algorithm, _signature, _key, "CSR", "the PKCS#10 signature does not verify", out ImportedEcKey? imported);
        RememberImported(imported);
        return result;
    }
}
