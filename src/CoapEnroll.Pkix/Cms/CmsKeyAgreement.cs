using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix;

/// <summary>
/// CMS EnvelopedData for an elliptic-curve recipient (RFC 5652 §6.2.2 KeyAgreeRecipientInfo, RFC 5753 §3.1 ephemeral-static
/// ECDH with the ANSI X9.63 KDF, RFC 3394 AES key wrap, AES-CBC content encryption). .NET's EnvelopedCms implements only key
/// transport for asymmetric recipients, so this builds and reads the structure with <see cref="AsnWriter"/>/<see cref="AsnReader"/>
/// over the platform's ECDH, SHA and AES.
/// </summary>
public static class CmsKeyAgreement
{
    private const int KeyAgreeRecipientInfoVersion = 3;

    /// <summary>
    /// The DER KeyWrapAlgorithm naming <paramref name="wrap"/> (RFC 5753 §5), as a key agreement scheme's SMIMECapability carries it
    /// in its parameters; <paramref name="nullParameters"/> adds NULL parameters, as some peers write them.
    /// </summary>
    public static byte[] SchemeParameters(string wrap, bool nullParameters = false)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(wrap);
            if (nullParameters)
            {
                writer.WriteNull();
            }
        }

        return writer.Encode();
    }

    /// <summary>
    /// Encrypts <paramref name="content"/> of type <paramref name="contentType"/> for <paramref name="recipient"/>'s EC key (P-256,
    /// P-384 or P-521) with a fresh ephemeral key; returns a DER ContentInfo. The recipient is named by its subject key identifier
    /// when it has one, otherwise by issuer and serial number.
    /// </summary>
    /// <exception cref="ArgumentException">The recipient has no elliptic-curve key on a supported curve, or an algorithm is not supported.</exception>
    public static byte[] Encrypt(ReadOnlySpan<byte> content, string contentType, X509Certificate2 recipient, CmsKeyAgreementAlgorithms algorithms) =>
        Encrypt(content, contentType, recipient, algorithms, nullWrapParameters: false);

    /// <remarks><paramref name="nullWrapParameters"/> writes the key wrap with NULL parameters, as some peers do (tests only).</remarks>
    internal static byte[] Encrypt(ReadOnlySpan<byte> content, string contentType, X509Certificate2 recipient, CmsKeyAgreementAlgorithms algorithms, bool nullWrapParameters)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        using ECDiffieHellman recipientKey = recipient.PublicKey.GetECDiffieHellmanPublicKey()
            ?? throw new ArgumentException("the recipient certificate has no elliptic-curve key", nameof(recipient));
        ECParameters recipientParameters = recipientKey.ExportParameters(false);
        if (!IsSupportedCurve(recipientParameters.Curve))
        {
            throw new ArgumentException("the recipient key is not on P-256, P-384 or P-521", nameof(recipient));
        }

        using ECDiffieHellman ephemeral = ECDiffieHellman.Create(recipientParameters.Curve);
        using ECDiffieHellmanPublicKey recipientPublic = recipientKey.PublicKey;

        ECParameters ephemeralPublic = ephemeral.ExportParameters(false);
        byte[] wrapAlgorithm = SchemeParameters(algorithms.KeyWrap, nullWrapParameters);
        byte[] kek = DeriveKeyEncryptionKey(ephemeral, recipientPublic, algorithms.KeyAgreement, wrapAlgorithm, WrapKeyLength(algorithms.KeyWrap), ukm: null);
        try
        {
            return CmsEnvelopedData.Encrypt(content, contentType, algorithms.ContentEncryption, (writer, contentKey) =>
            {
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
                {
                    writer.WriteInteger(KeyAgreeRecipientInfoVersion);

                    // originator [0] EXPLICIT OriginatorIdentifierOrKey: originatorKey [1] OriginatorPublicKey (RFC 5753 §3.1.1),
                    // id-ecPublicKey with absent parameters (the recipient's curve) and the uncompressed point.
                    using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
                    using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
                    {
                        using (writer.PushSequence())
                        {
                            writer.WriteObjectIdentifier(PkixOids.EcPublicKey);
                        }

                        writer.WriteBitString(EncodePoint(ephemeralPublic.Q));
                    }

                    using (writer.PushSequence())
                    {
                        // RFC 3565 §2.3.2: the AES key wrap identifiers have absent parameters.
                        writer.WriteObjectIdentifier(algorithms.KeyAgreement);
                        writer.WriteEncodedValue(wrapAlgorithm);
                    }

                    using (writer.PushSequence())
                    using (writer.PushSequence())
                    {
                        WriteRecipientIdentifier(writer, recipient);
                        writer.WriteOctetString(AesKeyWrap.Wrap(kek, contentKey));
                    }
                }
            });
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    /// <summary>
    /// Decrypts a ContentInfo carrying EnvelopedData whose KeyAgreeRecipientInfo names <paramref name="recipient"/> (by issuer and
    /// serial number or subject key identifier); returns the content and its type. Every failure is a <see cref="CryptographicException"/>.
    /// </summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> contentInfo, ECDiffieHellman key, X509Certificate2 recipient, out string contentType) =>
        CmsEnvelopedData.Decrypt(contentInfo, recipientInfos =>
        {
            if (!recipientInfos.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
            {
                recipientInfos.ReadEncodedValue(); // ktri, kekri, pwri, ori: not for this key.
                return null;
            }

            return TryOpenKeyAgreeRecipientInfo(recipientInfos.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)), key, recipient);
        }, "no KeyAgreeRecipientInfo in the EnvelopedData names the recipient certificate", out contentType);

    // Reads the whole kari first and checks the algorithms only when one of its keys is for us: a kari for another recipient
    // (another curve, a scheme we lack) must not stop the search (RFC 5652 §6.1 allows any number of recipients).
    private static byte[]? TryOpenKeyAgreeRecipientInfo(AsnReader kari, ECDiffieHellman key, X509Certificate2 recipient)
    {
        int version = kari.ReadInteger() is var v && v <= int.MaxValue && v >= int.MinValue ? (int)v : -1;
        AsnReader originator = kari.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
        ReadOnlyMemory<byte> originatorChoice = originator.ReadEncodedValue();
        originator.ThrowIfNotEmpty();
        byte[]? ukm = null;
        if (kari.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
        {
            AsnReader ukmReader = kari.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true));
            ukm = ukmReader.ReadOctetString();
            ukmReader.ThrowIfNotEmpty();
        }

        AsnReader keyEncryption = kari.ReadSequence();
        string scheme = keyEncryption.ReadObjectIdentifier();

        // The KeyWrapAlgorithm exactly as sent: ECC-CMS-SharedInfo carries it (RFC 5753 §7.2), NULL parameters included.
        byte[] wrapAlgorithm = keyEncryption.ReadEncodedValue().ToArray();
        keyEncryption.ThrowIfNotEmpty();
        AsnReader encryptedKeys = kari.ReadSequence();
        kari.ThrowIfNotEmpty();
        byte[]? wrapped = null;
        while (encryptedKeys.HasData)
        {
            AsnReader encryptedKey = encryptedKeys.ReadSequence();
            bool forUs = NamesRecipient(encryptedKey, recipient);
            byte[] candidate = encryptedKey.ReadOctetString();
            encryptedKey.ThrowIfNotEmpty();
            if (forUs && wrapped is null)
            {
                wrapped = candidate;
            }
        }

        if (wrapped is null)
        {
            return null;
        }

        if (version != KeyAgreeRecipientInfoVersion)
        {
            throw new CryptographicException("a KeyAgreeRecipientInfo must have version 3 (RFC 5652 section 6.2.2)");
        }

        if (HashOf(scheme) is null)
        {
            throw new CryptographicException($"key agreement algorithm {scheme} is not supported (ephemeral-static ECDH with SHA-1/256/384/512 X9.63 KDF)");
        }

        var wrapReader = new AsnReader(wrapAlgorithm, AsnEncodingRules.BER).ReadSequence();
        string wrap = wrapReader.ReadObjectIdentifier();
        if (wrapReader.HasData)
        {
            wrapReader.ReadNull();
        }

        wrapReader.ThrowIfNotEmpty();
        int kekLength = WrapKeyLength(wrap);
        if (kekLength == 0)
        {
            throw new CryptographicException($"key wrap algorithm {wrap} is not supported (id-aes128-wrap, id-aes192-wrap, id-aes256-wrap)");
        }

        // A wrapped AES-128 or AES-256 content-encryption key is 24 or 40 octets.
        if (wrapped.Length is not (24 or 40))
        {
            throw new CryptographicException($"the wrapped content-encryption key has {wrapped.Length} octets, not 24 or 40");
        }

        using ECDiffieHellman originatorPublic = ReadOriginatorKey(originatorChoice, key);
        using ECDiffieHellmanPublicKey originatorKey = originatorPublic.PublicKey;
        byte[] kek = DeriveKeyEncryptionKey(key, originatorKey, scheme, wrapAlgorithm, kekLength, ukm);
        try
        {
            return AesKeyWrap.Unwrap(kek, wrapped);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
        }
    }

    // originatorKey [1] OriginatorPublicKey (RFC 5753 §3.1.1): id-ecPublicKey with absent, NULL or the recipient's named curve.
    private static ECDiffieHellman ReadOriginatorKey(ReadOnlyMemory<byte> choice, ECDiffieHellman key)
    {
        var reader = new AsnReader(choice, AsnEncodingRules.BER);
        if (!reader.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true)))
        {
            throw new CryptographicException("the originator must be an ephemeral originatorKey (RFC 5753 section 3.1.1)");
        }

        AsnReader originatorKey = reader.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1, isConstructed: true));
        AsnReader algorithm = originatorKey.ReadSequence();
        if (algorithm.ReadObjectIdentifier() != PkixOids.EcPublicKey)
        {
            throw new CryptographicException("the originator key is not id-ecPublicKey");
        }

        ECParameters own = key.ExportParameters(false);
        if (!IsSupportedCurve(own.Curve))
        {
            throw new CryptographicException("the recipient key is not on P-256, P-384 or P-521");
        }

        if (algorithm.HasData)
        {
            if (algorithm.PeekTag().HasSameClassAndValue(Asn1Tag.Null))
            {
                algorithm.ReadNull();
            }
            else if (algorithm.ReadObjectIdentifier() != own.Curve.Oid.Value)
            {
                throw new CryptographicException("the originator key is on a different curve than the recipient key");
            }
        }

        algorithm.ThrowIfNotEmpty();
        byte[] point = originatorKey.ReadBitString(out int unusedBits);
        originatorKey.ThrowIfNotEmpty();
        int fieldLength = own.Q.X!.Length;
        if (unusedBits != 0 || point.Length != 1 + 2 * fieldLength || point[0] != 0x04)
        {
            throw new CryptographicException("the originator key is not an uncompressed point of the recipient's curve");
        }

        var originator = ECDiffieHellman.Create();
        try
        {
            // ImportParameters checks that the point is on the curve.
            originator.ImportParameters(new ECParameters
            {
                Curve = own.Curve,
                Q = new ECPoint { X = point[1..(1 + fieldLength)], Y = point[(1 + fieldLength)..] },
            });
            return originator;
        }
        catch (CryptographicException ex)
        {
            originator.Dispose();
            throw new CryptographicException("the originator key is not a valid point of the recipient's curve", ex);
        }
    }

    // NIST curves only: their cofactor is 1, which makes cofactor ECDH equal to standard ECDH (RFC 5753 §3.1.1).
    private static bool IsSupportedCurve(ECCurve curve) =>
        curve.IsNamed && curve.Oid.Value is "1.2.840.10045.3.1.7" or "1.3.132.0.34" or "1.3.132.0.35";

    private static bool NamesRecipient(AsnReader encryptedKey, X509Certificate2 recipient)
    {
        Asn1Tag tag = encryptedKey.PeekTag();
        if (tag.HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
        {
            // rKeyId [0] IMPLICIT RecipientKeyIdentifier { subjectKeyIdentifier, date OPTIONAL, other OPTIONAL }
            AsnReader keyIdentifier = encryptedKey.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true));
            byte[] ski = keyIdentifier.ReadOctetString();
            return recipient.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault() is { } own
                && own.SubjectKeyIdentifierBytes.Span.SequenceEqual(ski);
        }

        AsnReader issuerAndSerial = encryptedKey.ReadSequence();
        ReadOnlyMemory<byte> issuer = issuerAndSerial.ReadEncodedValue();
        ReadOnlyMemory<byte> serial = issuerAndSerial.ReadIntegerBytes();
        issuerAndSerial.ThrowIfNotEmpty();
        return new X500DistinguishedName(issuer.Span).RawData.AsSpan().SequenceEqual(recipient.IssuerName.RawData)
            && serial.Span.SequenceEqual(recipient.SerialNumberBytes.Span);
    }

    private static void WriteRecipientIdentifier(AsnWriter writer, X509Certificate2 recipient)
    {
        if (recipient.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault() is { } ski)
        {
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                writer.WriteOctetString(ski.SubjectKeyIdentifierBytes.Span);
            }

            return;
        }

        using (writer.PushSequence())
        {
            writer.WriteEncodedValue(recipient.IssuerName.RawData);
            writer.WriteInteger(recipient.SerialNumberBytes.Span);
        }
    }

    /// <summary>
    /// RFC 5753 §3.1.2 and §7.2: KEK = leftmost bits of Hash(Z || counter || DER(ECC-CMS-SharedInfo)) for counter = 1, 2, …
    /// (ANSI X9.63), where SharedInfo names the wrap algorithm, the ukm and the KEK length in bits.
    /// </summary>
    private static byte[] DeriveKeyEncryptionKey(ECDiffieHellman own, ECDiffieHellmanPublicKey other, string scheme, byte[] wrapAlgorithm, int kekLength, byte[]? ukm)
    {
        HashAlgorithmName hash = HashOf(scheme) ?? throw new CryptographicException($"key agreement algorithm {scheme} is not supported");
        var sharedInfo = new AsnWriter(AsnEncodingRules.DER);
        using (sharedInfo.PushSequence())
        {
            sharedInfo.WriteEncodedValue(wrapAlgorithm);
            if (ukm is not null)
            {
                using (sharedInfo.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
                {
                    sharedInfo.WriteOctetString(ukm);
                }
            }

            using (sharedInfo.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 2, isConstructed: true)))
            {
                Span<byte> bits = stackalloc byte[4];
                BinaryPrimitives.WriteInt32BigEndian(bits, kekLength * 8);
                sharedInfo.WriteOctetString(bits);
            }
        }

        byte[] info = sharedInfo.Encode();
        byte[] z = own.DeriveRawSecretAgreement(other);
        byte[] kek = new byte[kekLength];
        Span<byte> counter = stackalloc byte[4];
        try
        {
            using var digest = IncrementalHash.CreateHash(hash);
            int written = 0;
            for (uint i = 1; written < kekLength; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(counter, i);
                digest.AppendData(z);
                digest.AppendData(counter);
                digest.AppendData(info);
                byte[] block = digest.GetHashAndReset();
                int take = Math.Min(block.Length, kekLength - written);
                block.AsSpan(0, take).CopyTo(kek.AsSpan(written));
                written += take;
                CryptographicOperations.ZeroMemory(block);
            }

            return kek;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(z);
        }
    }

    private static byte[] EncodePoint(ECPoint q)
    {
        byte[] point = new byte[1 + q.X!.Length + q.Y!.Length];
        point[0] = 0x04;
        q.X.CopyTo(point, 1);
        q.Y.CopyTo(point, 1 + q.X.Length);
        return point;
    }

    /// <summary>
    /// Whether <paramref name="keyAgreement"/> is an ephemeral-static ECDH scheme with the X9.63 KDF this class implements
    /// (dhSinglePass-stdDH or -cofactorDH with SHA-1, SHA-256, SHA-384 or SHA-512, RFC 5753 §7.1.4).
    /// </summary>
    public static bool IsSupportedKeyAgreement(string keyAgreement) => HashOf(keyAgreement) is not null;

    // NIST curves have cofactor 1, so cofactor ECDH computes the same Z as standard ECDH (RFC 5753 §3.1.1).
    private static HashAlgorithmName? HashOf(string scheme) => scheme switch
    {
        PkixOids.EcdhStdSha1Kdf or PkixOids.EcdhCofactorSha1Kdf => HashAlgorithmName.SHA1,
        PkixOids.EcdhStdSha256Kdf or PkixOids.EcdhCofactorSha256Kdf => HashAlgorithmName.SHA256,
        PkixOids.EcdhStdSha384Kdf or PkixOids.EcdhCofactorSha384Kdf => HashAlgorithmName.SHA384,
        PkixOids.EcdhStdSha512Kdf or PkixOids.EcdhCofactorSha512Kdf => HashAlgorithmName.SHA512,
        _ => null,
    };

    /// <summary>The key-encryption key length of an AES key wrap identifier (RFC 3565), or 0.</summary>
    public static int WrapKeyLength(string wrap) => wrap switch
    {
        PkixOids.Aes128Wrap => 16,
        PkixOids.Aes192Wrap => 24,
        PkixOids.Aes256Wrap => 32,
        _ => 0,
    };
}
