using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// CRMF's proof of possession by signature (RFC 4211 section 4.1): a POPOSigningKey without poposkInput, whose signature with
/// the requested key covers the DER of the CertRequest as received. Verified like PKCS#10's signature (same algorithms, same key
/// checks, same reasons). POPOSigningKey with poposkInput (sender or publicKeyMAC) is not represented: a front end refuses it.
/// </summary>
public sealed class CrmfSignatureProof : ProofOfPossession
{
    private readonly ReadOnlyMemory<byte> _certRequest;
    private readonly SignatureAlgorithm _algorithm;
    private readonly byte[] _signature;
    private readonly PublicKey _key;

    private CrmfSignatureProof(ReadOnlyMemory<byte> certRequest, SignatureAlgorithm algorithm, byte[] signature, PublicKey key)
    {
        _certRequest = certRequest;
        _algorithm = algorithm;
        _signature = signature;
        _key = key;
    }

    /// <inheritdoc/>
    public override ProofOfPossessionMethod Method => ProofOfPossessionMethod.Signature;

    /// <inheritdoc/>
    public override HashAlgorithmName? SignatureHashAlgorithm => _algorithm.Family == SignatureFamily.Unsupported ? null : _algorithm.Hash;

    /// <summary>
    /// A proof from the POPOSigningKey's algorithmIdentifier and signature; null with the problem when the AlgorithmIdentifier is
    /// not well-formed. An algorithm this CA does not handle makes a proof that is refused with
    /// <see cref="RejectionReason.UnsupportedAlgorithm"/> when checked.
    /// </summary>
    /// <param name="certRequest">The DER of the CertRequest as received: what the signature covers.</param>
    /// <param name="algorithmIdentifier">The DER of the POPOSigningKey's AlgorithmIdentifier.</param>
    /// <param name="signature">The signature value (the BIT STRING's octets).</param>
    /// <param name="key">The template's public key.</param>
    /// <param name="problem">What is wrong, when null is returned.</param>
    public static CrmfSignatureProof? TryCreate(ReadOnlyMemory<byte> certRequest, ReadOnlyMemory<byte> algorithmIdentifier, ReadOnlyMemory<byte> signature,
        PublicKey key, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(key);
        try
        {
            SignatureAlgorithm? algorithm = SignatureAlgorithm.Read(algorithmIdentifier, out problem);
            return algorithm is null ? null : new CrmfSignatureProof(certRequest, algorithm, signature.ToArray(), key);
        }
        catch (AsnContentException ex)
        {
            problem = $"the POPOSigningKey algorithm cannot be decoded: {ex.Message}";
            return null;
        }
    }

    /// <inheritdoc/>
    protected override ProofOfPossessionResult CheckCore()
    {
        ProofOfPossessionResult result = SignatureProofs.Verify(_certRequest, _algorithm, _signature, _key, "template",
            "the POPOSigningKey signature over the CertRequest does not verify", out ImportedEcKey? imported);
        RememberImported(imported);
        return result;
    }
}
