using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// Reads an rsaEncryption SubjectPublicKeyInfo's RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017
/// Appendix A.1.1) before the platform imports it, so that a key the platform would refuse is refused for what is wrong with it,
/// and a key too long to verify with cheaply is refused before any work is spent on it.
/// </summary>
internal static class RsaPublicKeys
{
    /// <summary>The modulus length in bits; false with the reason and text when the key is not usable.</summary>
    public static bool TryRead(PublicKey key, out int bits, out RejectionReason reason, out string detail)
    {
        bits = 0;
        BigInteger modulus;
        BigInteger exponent;
        try
        {
            var reader = new AsnReader(key.EncodedKeyValue.RawData, AsnEncodingRules.DER);
            AsnReader sequence = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            modulus = sequence.ReadInteger();
            exponent = sequence.ReadInteger();
            sequence.ThrowIfNotEmpty();
        }
        catch (AsnContentException)
        {
            reason = RejectionReason.MalformedRequest;
            detail = "the RSA key cannot be decoded";
            return false;
        }

        if (modulus.Sign <= 0 || modulus.IsEven)
        {
            reason = RejectionReason.KeyNotAllowed;
            detail = "the RSA modulus is invalid";
            return false;
        }

        bits = (int)modulus.GetBitLength();
        if (bits > CertificateProfile.MaximumRsaKeySize)
        {
            reason = RejectionReason.UnsupportedKeyType;
            detail = $"RSA {bits} is longer than {CertificateProfile.MaximumRsaKeySize}";
            return false;
        }

        // RFC 8017 section 3.1: e is odd, at least 3 and less than n. With e = 1 anyone "signs" anything.
        if (exponent < 3 || exponent.IsEven || exponent >= modulus)
        {
            reason = RejectionReason.KeyNotAllowed;
            detail = "RSA public exponent is invalid";
            return false;
        }

        reason = RejectionReason.None;
        detail = "";
        return true;
    }
}
