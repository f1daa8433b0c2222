using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Ca;

/// <summary>
/// Checks a signature with the requested key over the signed part of a request (PKCS#10's certificationRequestInfo, CRMF's
/// CertRequest): the key first, as the CA checks it, then the algorithm, then the signature. Never throws.
/// </summary>
internal static class SignatureProofs
{
    /// <summary>
    /// The result of checking <paramref name="signature"/> over <paramref name="signed"/>; <paramref name="which"/> names the request in
    /// texts. <paramref name="imported"/> is the EC key as imported, when it was an EC key the platform accepted; null otherwise.
    /// </summary>
    public static ProofOfPossessionResult Verify(ReadOnlyMemory<byte> signed, SignatureAlgorithm algorithm, byte[] signature, PublicKey key, string which, string badSignature,
        out ImportedEcKey? imported)
    {
        // The key first, as the CA checks it: a key this CA cannot certify is refused for that, whatever signs with it.
        imported = null;
        string keyAlgorithm = key.Oid.Value ?? "";
        ECDsa? ecdsa = null;
        switch (keyAlgorithm)
        {
            case PkixOids.EcPublicKey:
                if (!EcPublicKeys.TryImport(key, out ecdsa, out KeyTypes ecType, out bool compressed, out RejectionReason ecReason, out string ecDetail))
                {
                    return ProofOfPossessionResult.Refused(ecReason, which + " key: " + ecDetail);
                }

                imported = new ImportedEcKey(key, ecType, compressed);
                break;

            case PkixOids.RsaEncryption:
                // Also bounds the cost of the verification before any is spent.
                if (!RsaPublicKeys.TryRead(key, out _, out RejectionReason rsaReason, out string rsaDetail))
                {
                    return ProofOfPossessionResult.Refused(rsaReason, which + " key: " + rsaDetail);
                }

                break;

            default:
                return ProofOfPossessionResult.Refused(RejectionReason.UnsupportedKeyType, $"{which} key: algorithm {SignatureAlgorithm.KeyAlgorithmName(keyAlgorithm)} is not supported");
        }

        using (ecdsa)
        {
            if (algorithm.Family == SignatureFamily.Unsupported)
            {
                return ProofOfPossessionResult.Refused(RejectionReason.UnsupportedAlgorithm, algorithm.Unsupported!);
            }

            if ((ecdsa is not null) != (algorithm.Family == SignatureFamily.Ecdsa))
            {
                return ProofOfPossessionResult.Refused(RejectionReason.BadSignature,
                    $"the signature algorithm {algorithm.Name} does not match the {which}'s {(ecdsa is not null ? "EC" : "RSA")} key");
            }

            try
            {
                return ecdsa is not null
                    ? Result(badSignature, ecdsa.VerifyData(signed.Span, signature, algorithm.Hash, DSASignatureFormat.Rfc3279DerSequence))
                    : VerifyRsa(signed, algorithm, signature, key, which, badSignature);
            }
            catch (CryptographicException)
            {
                // The platform refused the signature value itself (e.g. an RSA signature of the wrong length).
                return ProofOfPossessionResult.Refused(RejectionReason.BadSignature, badSignature);
            }
        }
    }

    private static ProofOfPossessionResult VerifyRsa(ReadOnlyMemory<byte> signed, SignatureAlgorithm algorithm, byte[] signature, PublicKey key, string which, string badSignature)
    {
        RSA rsa;
        try
        {
            rsa = key.GetRSAPublicKey() ?? throw new CryptographicException();
        }
        catch (CryptographicException)
        {
            return ProofOfPossessionResult.Refused(RejectionReason.MalformedRequest, $"{which} key: the RSA key cannot be decoded");
        }

        using (rsa)
        {
            RSASignaturePadding padding = algorithm.Family == SignatureFamily.RsaPss ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
            return Result(badSignature, rsa.VerifyData(signed.Span, signature, algorithm.Hash, padding));
        }
    }

    private static ProofOfPossessionResult Result(string badSignature, bool verified) =>
        verified ? ProofOfPossessionResult.Verified : ProofOfPossessionResult.Refused(RejectionReason.BadSignature, badSignature);
}
