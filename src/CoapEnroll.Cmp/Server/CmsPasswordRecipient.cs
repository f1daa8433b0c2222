using System.Formats.Asn1;
using System.Security.Cryptography;
using CoapEnroll.Pkix;

namespace CoapEnroll.Cmp;

/// <summary>
/// CMS EnvelopedData for the holder of a password (RFC 5652 §6.2.4 PasswordRecipientInfo): the key-encryption key derived with
/// PBKDF2 (RFC 8018 §5.2, HMAC-SHA-256), the content-encryption key wrapped with id-alg-PWRI-KEK over AES-256-CBC (RFC 3211 §2.3),
/// the content encrypted with AES-256-CBC. This is how a MAC-authenticated CMP requester gets a centrally generated key
/// (RFC 9483 §4.1.6.3): the password is its shared secret. The .NET EnvelopedCms has no password recipients.
/// </summary>
/// <remarks>
/// RFC 3211's wrap, not a bare AES key wrap, in keyEncryptionAlgorithm: it is what OpenSSL and Bouncy Castle read, and what the
/// OpenSSL CMP client expects of a password-protected central key generation answer.
/// </remarks>
internal static class CmsPasswordRecipient
{
    /// <summary>id-alg-PWRI-KEK (RFC 3211 §2.3).</summary>
    public const string PwriKek = "1.2.840.113549.1.9.16.3.9";

    /// <summary>id-PBKDF2 (RFC 8018 §A.2).</summary>
    public const string Pbkdf2 = "1.2.840.113549.1.5.12";

    /// <summary>id-hmacWithSHA256 (RFC 8018 §B.1.2).</summary>
    public const string HmacWithSha256 = "1.2.840.113549.2.9";

    /// <summary>PBKDF2 iterations of the key-encryption key (RFC 8018 §4.2 asks for at least 1,000; RFC 9481 §4.4 follows it).</summary>
    public const int DefaultIterations = 10_000;

    // RFC 5652 §6.1: version 3 when a RecipientInfo is a pwri; the pwri itself is version 0 (§6.2.4).
    private const int EnvelopedDataVersion = 3;
    private const int PasswordRecipientInfoVersion = 0;
    private const int KeyLength = 32;
    private const int BlockSize = 16;
    private const int MaxIterations = 10_000_000;

    private static readonly Asn1Tag PwriTag = new(TagClass.ContextSpecific, 3, isConstructed: true);
    private static readonly Asn1Tag KeyDerivationTag = new(TagClass.ContextSpecific, 0, isConstructed: true);

    /// <summary>
    /// Encrypts <paramref name="content"/> of type <paramref name="contentType"/> for the holders of <paramref name="password"/> and
    /// returns the DER EnvelopedData (no ContentInfo around it).
    /// </summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> content, string contentType, ReadOnlySpan<byte> password, int iterations = DefaultIterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        byte[] salt = RandomNumberGenerator.GetBytes(16);
        byte[] kekIv = RandomNumberGenerator.GetBytes(BlockSize);
        byte[] contentIv = RandomNumberGenerator.GetBytes(BlockSize);
        byte[] contentKey = RandomNumberGenerator.GetBytes(KeyLength);
        byte[] kek = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, KeyLength);
        try
        {
            byte[] encryptedKey = Wrap(kek, kekIv, contentKey);
            byte[] ciphertext;
            using (Aes aes = Aes.Create())
            {
                aes.Key = contentKey;
                ciphertext = aes.EncryptCbc(content, contentIv, PaddingMode.PKCS7);
            }

            var writer = new AsnWriter(AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                writer.WriteInteger(EnvelopedDataVersion);
                using (writer.PushSetOf())
                using (writer.PushSequence(PwriTag))
                {
                    writer.WriteInteger(PasswordRecipientInfoVersion);

                    // keyDerivationAlgorithm [0] IMPLICIT AlgorithmIdentifier: id-PBKDF2 with PBKDF2-params.
                    using (writer.PushSequence(KeyDerivationTag))
                    {
                        writer.WriteObjectIdentifier(Pbkdf2);
                        using (writer.PushSequence())
                        {
                            writer.WriteOctetString(salt);
                            writer.WriteInteger(iterations);
                            writer.WriteInteger(KeyLength);
                            using (writer.PushSequence())
                            {
                                writer.WriteObjectIdentifier(HmacWithSha256);
                                writer.WriteNull();
                            }
                        }
                    }

                    // keyEncryptionAlgorithm: id-alg-PWRI-KEK whose parameters name the block cipher and its IV.
                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(PwriKek);
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier(PkixOids.Aes256Cbc);
                            writer.WriteOctetString(kekIv);
                        }
                    }

                    writer.WriteOctetString(encryptedKey);
                }

                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(contentType);
                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(PkixOids.Aes256Cbc);
                        writer.WriteOctetString(contentIv);
                    }

                    writer.WriteOctetString(ciphertext, new Asn1Tag(TagClass.ContextSpecific, 0));
                }
            }

            return writer.Encode();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(contentKey);
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>
    /// Decrypts a DER EnvelopedData (bare, or in a ContentInfo) through its PasswordRecipientInfo with <paramref name="password"/>;
    /// returns the content and its type. A wrong password, like every other failure, is a <see cref="CryptographicException"/>.
    /// </summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> envelopedData, ReadOnlySpan<byte> password, out string contentType)
    {
        try
        {
            return DecryptCore(envelopedData.ToArray(), password, out contentType);
        }
        catch (AsnContentException ex)
        {
            throw new CryptographicException("the EnvelopedData is malformed: " + ex.Message, ex);
        }
    }

    private static byte[] DecryptCore(byte[] der, ReadOnlySpan<byte> password, out string contentType)
    {
        var outer = new AsnReader(der, AsnEncodingRules.BER);
        AsnReader enveloped = outer.ReadSequence();
        outer.ThrowIfNotEmpty();
        if (enveloped.PeekTag().HasSameClassAndValue(Asn1Tag.ObjectIdentifier))
        {
            // A ContentInfo: unwrap it.
            if (enveloped.ReadObjectIdentifier() != PkixOids.EnvelopedData)
            {
                throw new CryptographicException("the content is not EnvelopedData");
            }

            AsnReader explicitContent = enveloped.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
            AsnReader inner = explicitContent.ReadSequence();
            explicitContent.ThrowIfNotEmpty();
            enveloped = inner;
        }

        _ = enveloped.ReadInteger();
        if (enveloped.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
        {
            enveloped.ReadEncodedValue(); // originatorInfo
        }

        AsnReader recipientInfos = enveloped.ReadSetOf();
        byte[]? contentKey = null;
        while (recipientInfos.HasData && contentKey is null)
        {
            if (!recipientInfos.PeekTag().HasSameClassAndValue(PwriTag))
            {
                recipientInfos.ReadEncodedValue();
                continue;
            }

            contentKey = OpenPasswordRecipientInfo(recipientInfos.ReadSequence(PwriTag), password);
        }

        if (contentKey is null)
        {
            throw new CryptographicException("the EnvelopedData has no PasswordRecipientInfo");
        }

        try
        {
            AsnReader encryptedContentInfo = enveloped.ReadSequence();
            contentType = encryptedContentInfo.ReadObjectIdentifier();
            AsnReader algorithm = encryptedContentInfo.ReadSequence();
            string contentAlgorithm = algorithm.ReadObjectIdentifier();
            byte[] iv = algorithm.ReadOctetString();
            algorithm.ThrowIfNotEmpty();
            if (CmsEnvelopedData.ContentKeyLength(contentAlgorithm) != contentKey.Length || iv.Length != BlockSize)
            {
                throw new CryptographicException($"content encryption {contentAlgorithm} with a {contentKey.Length}-octet key is not supported");
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

    private static byte[] OpenPasswordRecipientInfo(AsnReader pwri, ReadOnlySpan<byte> password)
    {
        if (pwri.ReadInteger() != PasswordRecipientInfoVersion)
        {
            throw new CryptographicException("a PasswordRecipientInfo must have version 0 (RFC 5652 section 6.2.4)");
        }

        if (!pwri.HasData || !pwri.PeekTag().HasSameClassAndValue(KeyDerivationTag))
        {
            throw new CryptographicException("the PasswordRecipientInfo names no key derivation algorithm");
        }

        AsnReader derivation = pwri.ReadSequence(KeyDerivationTag);
        if (derivation.ReadObjectIdentifier() != Pbkdf2)
        {
            throw new CryptographicException("the key derivation algorithm is not PBKDF2");
        }

        AsnReader parameters = derivation.ReadSequence();
        derivation.ThrowIfNotEmpty();
        byte[] salt = parameters.ReadOctetString();
        if (!parameters.TryReadInt32(out int iterations) || iterations is < 1 or > MaxIterations)
        {
            throw new CryptographicException($"the PBKDF2 iteration count is not between 1 and {MaxIterations}");
        }

        int? keyLength = null;
        if (parameters.HasData && parameters.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            keyLength = parameters.TryReadInt32(out int length) ? length : -1;
        }

        HashAlgorithmName prf = HashAlgorithmName.SHA1;
        if (parameters.HasData)
        {
            AsnReader prfAlgorithm = parameters.ReadSequence();
            prf = prfAlgorithm.ReadObjectIdentifier() switch
            {
                "1.2.840.113549.2.7" => HashAlgorithmName.SHA1,
                HmacWithSha256 => HashAlgorithmName.SHA256,
                "1.2.840.113549.2.10" => HashAlgorithmName.SHA384,
                "1.2.840.113549.2.11" => HashAlgorithmName.SHA512,
                string other => throw new CryptographicException($"PBKDF2 pseudo-random function {other} is not supported"),
            };
        }

        parameters.ThrowIfNotEmpty();
        AsnReader keyEncryption = pwri.ReadSequence();
        if (keyEncryption.ReadObjectIdentifier() != PwriKek)
        {
            throw new CryptographicException("the key encryption algorithm is not id-alg-PWRI-KEK");
        }

        AsnReader cipher = keyEncryption.ReadSequence();
        keyEncryption.ThrowIfNotEmpty();
        string cipherOid = cipher.ReadObjectIdentifier();
        int kekLength = CmsEnvelopedData.ContentKeyLength(cipherOid);
        byte[] kekIv = cipher.ReadOctetString();
        cipher.ThrowIfNotEmpty();
        if (kekLength == 0 || kekIv.Length != BlockSize || (keyLength is { } declared && declared != kekLength))
        {
            throw new CryptographicException($"the PWRI key encryption cipher {cipherOid} is not supported (AES-128-CBC, AES-256-CBC)");
        }

        byte[] encryptedKey = pwri.ReadOctetString();
        pwri.ThrowIfNotEmpty();
        byte[] kek = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, prf, kekLength);
        try
        {
            return Unwrap(kek, kekIv, encryptedKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>
    /// RFC 3211 §2.3.1: the key as length octet, check value (the first three key octets complemented), key and random padding to
    /// at least two blocks, encrypted twice in CBC mode, the second pass chained on from the first (its IV the last block).
    /// </summary>
    internal static byte[] Wrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> key)
    {
        if (key.Length is < 3 or > 255)
        {
            throw new ArgumentException("RFC 3211 wraps keys of 3 to 255 octets", nameof(key));
        }

        int length = Math.Max(2 * BlockSize, (4 + key.Length + BlockSize - 1) / BlockSize * BlockSize);
        byte[] formatted = new byte[length];
        formatted[0] = (byte)key.Length;
        formatted[1] = (byte)~key[0];
        formatted[2] = (byte)~key[1];
        formatted[3] = (byte)~key[2];
        key.CopyTo(formatted.AsSpan(4));
        RandomNumberGenerator.Fill(formatted.AsSpan(4 + key.Length));
        try
        {
            using Aes aes = Aes.Create();
            aes.Key = kek.ToArray();
            byte[] first = aes.EncryptCbc(formatted, iv, PaddingMode.None);
            return aes.EncryptCbc(first, first.AsSpan(length - BlockSize), PaddingMode.None);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(formatted);
        }
    }

    /// <summary>Undoes <see cref="Wrap"/>; a wrong key-encryption key fails the check value with <see cref="CryptographicException"/>.</summary>
    internal static byte[] Unwrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> wrapped)
    {
        int length = wrapped.Length;
        if (length < 2 * BlockSize || length % BlockSize != 0)
        {
            throw new CryptographicException($"an RFC 3211 wrapped key is at least two blocks and whole blocks, not {length} octets");
        }

        using Aes aes = Aes.Create();
        aes.Key = kek.ToArray();

        // Second pass: blocks 1..n-1 decrypt in CBC with block 0 as IV; block 0 needs the first pass's last block as IV, which is
        // what blocks 1..n-1 just gave back.
        byte[] first = new byte[length];
        aes.DecryptCbc(wrapped[BlockSize..], wrapped[..BlockSize], first.AsSpan(BlockSize), PaddingMode.None);
        aes.DecryptCbc(wrapped[..BlockSize], first.AsSpan(length - BlockSize), first.AsSpan(0, BlockSize), PaddingMode.None);
        byte[] formatted = aes.DecryptCbc(first, iv, PaddingMode.None);
        try
        {
            int keyLength = formatted[0];
            int check = (formatted[1] ^ formatted[4]) & (formatted[2] ^ formatted[5]) & (formatted[3] ^ formatted[6]);
            if (check != 0xFF || keyLength < 3 || 4 + keyLength > length)
            {
                throw new CryptographicException("the password does not open the PasswordRecipientInfo (RFC 3211 check value)");
            }

            return formatted.AsSpan(4, keyLength).ToArray();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(formatted);
            CryptographicOperations.ZeroMemory(first);
        }
    }
}
