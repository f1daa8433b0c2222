using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Pkix;

namespace CoapEnroll.Cmp;

/// <summary>
/// The privateKey of a CertifiedKeyPair for central key generation (RFC 9483 §4.1.6, RFC 9810 §5.2.3): the EncryptedKey choice
/// envelopedData [0], an EnvelopedData (RFC 5652 §6) whose content is a SignedData by the key generator (the server's CMP signer)
/// over an AsymmetricKeyPackage (RFC 5958) holding the key. The recipient is the requester as it authenticated: a MAC with a
/// shared secret gets a PasswordRecipientInfo (§4.1.6.3), a signature with an EC certificate a KeyAgreeRecipientInfo (§4.1.6.1),
/// with an RSA certificate a KeyTransRecipientInfo (§4.1.6.2).
/// </summary>
internal static class CmpKeyDelivery
{
    /// <summary>
    /// Why a central key generation for <paramref name="recipient"/> cannot be answered, or null when it can: checked before
    /// anything is issued, so no certificate is left whose key its requester never receives.
    /// </summary>
    public static string? CheckRecipient(X509Certificate2? recipient)
    {
        if (recipient is null)
        {
            return "the requester authenticated with neither a shared secret nor a certificate the generated key could be encrypted to";
        }

        try
        {
            // A trial run on an empty key checks the key type and curve.
            _ = ForCertificate([0x30, 0x00], recipient, null, []);
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            return $"the generated key cannot be encrypted to the requester's certificate: {ex.Message}";
        }
    }

    /// <summary>The EncryptedKey DER for a requester that authenticated with the shared secret <paramref name="secret"/>.</summary>
    public static byte[] ForSecret(byte[] pkcs8, ReadOnlySpan<byte> secret, X509Certificate2 signer, IEnumerable<X509Certificate2> signerIntermediates)
    {
        byte[] signed = CmsAsymmetricKeyPackage.Sign(pkcs8, signer, signerIntermediates);
        try
        {
            return EncryptedKey(CmsPasswordRecipient.Encrypt(signed, PkixOids.SignedData, secret));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(signed);
        }
    }

    /// <summary>
    /// The EncryptedKey DER for a requester that signed with <paramref name="recipient"/>: ephemeral-static ECDH (dhSinglePass-stdDH
    /// with the KDF hash matching the curve, AES-256 key wrap) for an EC key, RSAES-OAEP with SHA-256 for an RSA key; AES-256-CBC
    /// content encryption either way (RFC 9481 §4.1, §4.2, §5). A null <paramref name="signer"/> skips the signature (trial runs).
    /// </summary>
    /// <exception cref="ArgumentException">The key is neither RSA nor EC on P-256, P-384 or P-521.</exception>
    public static byte[] ForCertificate(byte[] pkcs8, X509Certificate2 recipient, X509Certificate2? signer, IEnumerable<X509Certificate2> signerIntermediates)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        string algorithm = recipient.GetKeyAlgorithm();
        if (algorithm is not (PkixOids.EcPublicKey or PkixOids.RsaEncryption))
        {
            throw new ArgumentException($"the key ({recipient.PublicKey.Oid.FriendlyName ?? algorithm}) is neither RSA nor elliptic-curve");
        }

        byte[] signed = signer is null ? (byte[])pkcs8.Clone() : CmsAsymmetricKeyPackage.Sign(pkcs8, signer, signerIntermediates);
        try
        {
            byte[] contentInfo;
            if (algorithm == PkixOids.EcPublicKey)
            {
                using ECDiffieHellman? key = recipient.PublicKey.GetECDiffieHellmanPublicKey();
                int bits = key?.KeySize ?? throw new ArgumentException("the elliptic-curve key cannot be read");
                string scheme = bits switch
                {
                    <= 256 => PkixOids.EcdhStdSha256Kdf,
                    <= 384 => PkixOids.EcdhStdSha384Kdf,
                    _ => PkixOids.EcdhStdSha512Kdf,
                };
                contentInfo = CmsKeyAgreement.Encrypt(signed, PkixOids.SignedData, recipient,
                    new CmsKeyAgreementAlgorithms(scheme, PkixOids.Aes256Wrap, PkixOids.Aes256Cbc));
            }
            else
            {
                contentInfo = CmsKeyTransport.Encrypt(signed, PkixOids.SignedData, recipient, RSAEncryptionPadding.OaepSHA256, PkixOids.Aes256Cbc);
            }

            return EncryptedKey(EnvelopedDataOf(contentInfo));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(signed);
        }
    }

    /// <summary>The EnvelopedData inside a ContentInfo (RFC 5652 §3): CMP carries it without the wrapper.</summary>
    internal static byte[] EnvelopedDataOf(byte[] contentInfo)
    {
        var reader = new AsnReader(contentInfo, AsnEncodingRules.BER);
        AsnReader info = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        if (info.ReadObjectIdentifier() != PkixOids.EnvelopedData)
        {
            throw new CryptographicException("the ContentInfo does not carry EnvelopedData");
        }

        AsnReader explicitContent = info.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
        byte[] enveloped = explicitContent.ReadEncodedValue().ToArray();
        explicitContent.ThrowIfNotEmpty();
        info.ThrowIfNotEmpty();
        return enveloped;
    }

    /// <summary>EncryptedKey ::= CHOICE { encryptedValue EncryptedValue, envelopedData [0] EnvelopedData } (RFC 9810 appendix A, explicit tags).</summary>
    internal static byte[] EncryptedKey(byte[] envelopedData)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        CmpDer.WriteExplicitValue(writer, 0, envelopedData);
        return writer.Encode();
    }

    /// <summary>The EnvelopedData of an EncryptedKey (the envelopedData choice); throws <see cref="CryptographicException"/> for encryptedValue.</summary>
    internal static byte[] EnvelopedDataOfEncryptedKey(ReadOnlyMemory<byte> encryptedKey)
    {
        try
        {
            var reader = new AsnReader(encryptedKey, AsnEncodingRules.BER);
            if (!reader.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                throw new CryptographicException("the EncryptedKey is not the envelopedData choice (encryptedValue is deprecated, RFC 9810)");
            }

            AsnReader inner = reader.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
            reader.ThrowIfNotEmpty();
            byte[] enveloped = inner.ReadEncodedValue().ToArray();
            inner.ThrowIfNotEmpty();
            return enveloped;
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException("the EncryptedKey is malformed: " + ex.Message, ex);
        }
    }
}
