using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// PKCS#10's proof of possession: the signature over certificationRequestInfo with the requested key (RFC 2986 section 3,
/// RFC 7030 section 3.4). The common algorithms (ECDSA and RSA PKCS#1 v1.5 with SHA-1/2) are verified here on the already decoded
/// request; any other algorithm goes to the platform's decoder, which then decides as it always did.
/// </summary>
internal sealed class Pkcs10SignatureProof : ProofOfPossession
{
    private readonly ReadOnlyMemory<byte> _der;
    private readonly PublicKey _key;

    public Pkcs10SignatureProof(ReadOnlyMemory<byte> der, PublicKey key)
    {
        _der = der;
        _key = key;
    }

    public override ProofOfPossessionMethod Method => ProofOfPossessionMethod.Signature;

    protected override bool VerifyCore()
    {
        try
        {
            return TryVerifyKnownAlgorithm(out bool valid) ? valid : VerifyWithPlatformDecoder();
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    // CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm AlgorithmIdentifier, signature BIT STRING }
    private bool TryVerifyKnownAlgorithm(out bool valid)
    {
        valid = false;
        AsnReader outer;
        ReadOnlyMemory<byte> info;
        string algorithm;
        bool parametersAbsent;
        bool parametersNull = false;
        byte[] signature;
        try
        {
            outer = new AsnReader(_der, AsnEncodingRules.DER).ReadSequence();
            info = outer.ReadEncodedValue();
            AsnReader identifier = outer.ReadSequence();
            algorithm = identifier.ReadObjectIdentifier();
            parametersAbsent = !identifier.HasData;
            if (!parametersAbsent && identifier.PeekTag().HasSameClassAndValue(Asn1Tag.Null))
            {
                identifier.ReadNull();
                parametersNull = !identifier.HasData;
            }

            signature = outer.ReadBitString(out int unusedBits);
            if (unusedBits != 0 || outer.HasData)
            {
                return false;
            }
        }
        catch (AsnContentException)
        {
            return false;
        }

        switch (algorithm)
        {
            case "1.2.840.10045.4.1" or "1.2.840.10045.4.3.2" or "1.2.840.10045.4.3.3" or "1.2.840.10045.4.3.4" when parametersAbsent:
                using (ECDsa? ecdsa = _key.GetECDsaPublicKey())
                {
                    valid = ecdsa is not null && ecdsa.VerifyData(info.Span, signature, HashFor(algorithm), DSASignatureFormat.Rfc3279DerSequence);
                }

                return true;

            case "1.2.840.113549.1.1.5" or "1.2.840.113549.1.1.11" or "1.2.840.113549.1.1.12" or "1.2.840.113549.1.1.13" when parametersAbsent || parametersNull:
                using (RSA? rsa = _key.GetRSAPublicKey())
                {
                    valid = rsa is not null && rsa.VerifyData(info.Span, signature, HashFor(algorithm), RSASignaturePadding.Pkcs1);
                }

                return true;

            default:
                return false;
        }
    }

    private static HashAlgorithmName HashFor(string algorithm) => algorithm switch
    {
        "1.2.840.10045.4.1" or "1.2.840.113549.1.1.5" => HashAlgorithmName.SHA1,
        "1.2.840.10045.4.3.2" or "1.2.840.113549.1.1.11" => HashAlgorithmName.SHA256,
        "1.2.840.10045.4.3.3" or "1.2.840.113549.1.1.12" => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private bool VerifyWithPlatformDecoder()
    {
        CertificateRequest.LoadSigningRequest(_der.Span, HashAlgorithmName.SHA256, out _, CertificateRequestLoadOptions.Default, RSASignaturePadding.Pkcs1);
        return true;
    }
}
