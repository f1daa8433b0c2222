using System.Formats.Asn1;
using System.Security.Cryptography;

namespace CoapEnroll.Pkix;

/// <summary>
/// The parts of CMS EnvelopedData (RFC 5652 §6) that do not depend on the recipient: the ContentInfo wrapper, the
/// EncryptedContentInfo with AES-CBC (RFC 3565), and the walk over RecipientInfos. The recipient-specific parts are
/// <see cref="CmsKeyAgreement"/> (kari) and <see cref="CmsKeyEncryptionKey"/> (kekri), which .NET's EnvelopedCms lacks.
/// </summary>
public static class CmsEnvelopedData
{
    // RFC 5652 §6.1: version 2 whenever a RecipientInfo is not version 0 and there is no pwri, ori or originatorInfo.
    private const int Version = 2;

    /// <summary>Writes one RecipientInfo (with its CHOICE tag) carrying <c>contentKey</c>.</summary>
    public delegate void RecipientInfoWriter(AsnWriter writer, ReadOnlySpan<byte> contentKey);

    /// <summary>Reads one RecipientInfo; returns the content-encryption key when it is for this recipient, otherwise null.</summary>
    public delegate byte[]? RecipientInfoOpener(AsnReader recipientInfos);

    /// <summary>The content-encryption key length of an AES-CBC identifier (<see cref="PkixOids.Aes128Cbc"/>, <see cref="PkixOids.Aes256Cbc"/>), or 0.</summary>
    public static int ContentKeyLength(string contentAlgorithm) => contentAlgorithm switch
    {
        PkixOids.Aes128Cbc => 16,
        PkixOids.Aes256Cbc => 32,
        _ => 0,
    };

    /// <summary>
    /// Encrypts <paramref name="content"/> of type <paramref name="contentType"/> with <paramref name="contentAlgorithm"/> under a fresh key
    /// and returns the DER ContentInfo with the one RecipientInfo <paramref name="writeRecipient"/> writes for that key.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="contentAlgorithm"/> is not AES-128-CBC or AES-256-CBC.</exception>
    public static byte[] Encrypt(ReadOnlySpan<byte> content, string contentType, string contentAlgorithm, RecipientInfoWriter writeRecipient)
    {
        int keyLength = ContentKeyLength(contentAlgorithm);
        if (keyLength == 0)
        {
            throw new ArgumentException($"content encryption algorithm {contentAlgorithm} is not supported (AES-128-CBC, AES-256-CBC)", nameof(contentAlgorithm));
        }

        byte[] contentKey = RandomNumberGenerator.GetBytes(keyLength);
        byte[] iv = RandomNumberGenerator.GetBytes(16);
        try
        {
            byte[] ciphertext;
            using (Aes aes = Aes.Create())
            {
                aes.Key = contentKey;
                ciphertext = aes.EncryptCbc(content, iv, PaddingMode.PKCS7);
            }

            var writer = new AsnWriter(AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(PkixOids.EnvelopedData);
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
                using (writer.PushSequence())
                {
                    writer.WriteInteger(Version);
                    using (writer.PushSetOf())
                    {
                        writeRecipient(writer, contentKey);
                    }

                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(contentType);
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier(contentAlgorithm);
                            writer.WriteOctetString(iv);
                        }

                        writer.WriteOctetString(ciphertext, new Asn1Tag(TagClass.ContextSpecific, 0));
                    }
                }
            }

            return writer.Encode();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }

    /// <summary>
    /// Finds the RecipientInfo <paramref name="open"/> accepts, decrypts the content and returns it with its type. Every failure,
    /// including malformed ASN.1, is a <see cref="CryptographicException"/>; <paramref name="noRecipient"/> says why none matched.
    /// </summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> contentInfo, RecipientInfoOpener open, string noRecipient, out string contentType)
    {
        try
        {
            return DecryptCore(contentInfo, open, noRecipient, out contentType);
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException("the EnvelopedData is malformed: " + ex.Message, ex);
        }
    }

    private static byte[] DecryptCore(ReadOnlySpan<byte> contentInfo, RecipientInfoOpener open, string noRecipient, out string contentType)
    {
        // Peers may send BER (indefinite lengths, constructed strings); the reader checks every length either way.
        var outer = new AsnReader(contentInfo.ToArray(), AsnEncodingRules.BER);
        AsnReader info = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        if (info.ReadObjectIdentifier() != PkixOids.EnvelopedData)
        {
            throw new CryptographicException("the content is not EnvelopedData");
        }

        AsnReader explicitContent = info.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
        info.ThrowIfNotEmpty();
        AsnReader enveloped = explicitContent.ReadSequence();
        explicitContent.ThrowIfNotEmpty();
        _ = enveloped.ReadInteger();
        if (enveloped.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0)))
        {
            enveloped.ReadEncodedValue(); // originatorInfo: certificates and CRLs are not needed here.
        }

        AsnReader recipientInfos = enveloped.ReadSetOf();
        byte[]? contentKey = null;
        while (recipientInfos.HasData && contentKey is null)
        {
            contentKey = open(recipientInfos);
        }

        if (contentKey is null)
        {
            throw new CryptographicException(noRecipient);
        }

        try
        {
            AsnReader encryptedContentInfo = enveloped.ReadSequence();
            contentType = encryptedContentInfo.ReadObjectIdentifier();
            AsnReader algorithm = encryptedContentInfo.ReadSequence();
            string contentAlgorithm = algorithm.ReadObjectIdentifier();
            int expectedKeyLength = ContentKeyLength(contentAlgorithm);
            if (expectedKeyLength == 0)
            {
                throw new CryptographicException($"content encryption algorithm {contentAlgorithm} is not supported (AES-128-CBC, AES-256-CBC)");
            }

            byte[] iv = algorithm.ReadOctetString();
            algorithm.ThrowIfNotEmpty();
            if (iv.Length != 16 || contentKey.Length != expectedKeyLength)
            {
                throw new CryptographicException($"the content-encryption key ({contentKey.Length} octets) or IV ({iv.Length} octets) does not fit {contentAlgorithm}");
            }

            if (!encryptedContentInfo.HasData)
            {
                throw new CryptographicException("the EnvelopedData carries no encrypted content");
            }

            byte[] ciphertext = encryptedContentInfo.ReadOctetString(new Asn1Tag(TagClass.ContextSpecific, 0));
            encryptedContentInfo.ThrowIfNotEmpty();
            using Aes aes = Aes.Create();
            aes.Key = contentKey;
            return aes.DecryptCbc(ciphertext, iv, PaddingMode.PKCS7);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
        }
    }
}
