using System.Formats.Asn1;
using System.Security.Cryptography;

namespace CoapEnroll.Pkix;

/// <summary>
/// CMS EnvelopedData for a previously distributed symmetric key (RFC 5652 §6.2.3 KEKRecipientInfo with an RFC 3394 AES key
/// wrap), as RFC 7030 §4.4.2 asks when the CSR names the key with DecryptKeyIdentifier.
/// </summary>
public static class CmsKeyEncryptionKey
{
    private const int KekRecipientInfoVersion = 4;

    /// <summary>The AES key wrap for <paramref name="kekLength"/> octets of key-encryption key.</summary>
    /// <exception cref="ArgumentException"><paramref name="kekLength"/> is not 16, 24 or 32.</exception>
    public static string WrapFor(int kekLength) => kekLength switch
    {
        16 => PkixOids.Aes128Wrap,
        24 => PkixOids.Aes192Wrap,
        32 => PkixOids.Aes256Wrap,
        _ => throw new ArgumentException($"a key-encryption key has 16, 24 or 32 octets, not {kekLength}", nameof(kekLength)),
    };

    /// <summary>
    /// Encrypts <paramref name="content"/> of type <paramref name="contentType"/> with <paramref name="contentAlgorithm"/> for the holders of
    /// <paramref name="kek"/>, named <paramref name="keyIdentifier"/>; returns a DER ContentInfo.
    /// </summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> content, string contentType, ReadOnlySpan<byte> keyIdentifier, ReadOnlySpan<byte> kek, string contentAlgorithm)
    {
        string wrap = WrapFor(kek.Length);
        byte[] id = keyIdentifier.ToArray();
        byte[] key = kek.ToArray();
        try
        {
            return CmsEnvelopedData.Encrypt(content, contentType, contentAlgorithm, (writer, contentKey) =>
            {
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 2, isConstructed: true)))
                {
                    writer.WriteInteger(KekRecipientInfoVersion);
                    using (writer.PushSequence())
                    {
                        writer.WriteOctetString(id);
                    }

                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(wrap);
                    }

                    writer.WriteOctetString(AesKeyWrap.Wrap(key, contentKey));
                }
            });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Decrypts an EnvelopedData whose KEKRecipientInfo names <paramref name="keyIdentifier"/>; failures are <see cref="CryptographicException"/>.</summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> contentInfo, ReadOnlySpan<byte> keyIdentifier, ReadOnlySpan<byte> kek, out string contentType)
    {
        byte[] id = keyIdentifier.ToArray();
        byte[] key = kek.ToArray();
        try
        {
            return CmsEnvelopedData.Decrypt(contentInfo, recipientInfos =>
            {
                var tag = new Asn1Tag(TagClass.ContextSpecific, 2, isConstructed: true);
                if (!recipientInfos.PeekTag().HasSameClassAndValue(tag))
                {
                    recipientInfos.ReadEncodedValue(); // ktri, kari, pwri, ori: not for a symmetric key.
                    return null;
                }

                AsnReader kekri = recipientInfos.ReadSequence(tag);
                if (kekri.ReadInteger() != KekRecipientInfoVersion)
                {
                    throw new CryptographicException("a KEKRecipientInfo must have version 4 (RFC 5652 section 6.2.3)");
                }

                AsnReader kekid = kekri.ReadSequence();
                byte[] named = kekid.ReadOctetString();
                AsnReader algorithm = kekri.ReadSequence();
                string wrap = algorithm.ReadObjectIdentifier();
                if (algorithm.HasData)
                {
                    algorithm.ReadNull();
                }

                algorithm.ThrowIfNotEmpty();
                byte[] wrapped = kekri.ReadOctetString();
                kekri.ThrowIfNotEmpty();
                if (!named.AsSpan().SequenceEqual(id))
                {
                    return null;
                }

                if (CmsKeyAgreement.WrapKeyLength(wrap) != key.Length)
                {
                    throw new CryptographicException($"key wrap algorithm {wrap} does not fit a {key.Length * 8}-bit key-encryption key");
                }

                return AesKeyWrap.Unwrap(key, wrapped);
            }, "no KEKRecipientInfo in the EnvelopedData names the key identifier", out contentType);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }
}
