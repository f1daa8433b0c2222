using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Est;

/// <summary>
/// CMS EnvelopedData for an elliptic-curve recipient (RFC 5652 §6.2.2 KeyAgreeRecipientInfo, RFC 5753 §3.1 ephemeral-static
/// ECDH with the ANSI X9.63 KDF, RFC 3394 AES key wrap, AES-CBC content encryption). .NET's EnvelopedCms implements only key
/// transport for asymmetric recipients, so this builds and reads the structure with <see cref="AsnWriter"/>/<see cref="AsnReader"/>
/// over the platform's ECDH, SHA and AES.
/// </summary>
internal static class CmsKeyAgreement
{
    private const int KeyAgreeRecipientInfoVersion = 3;

    /// <summary>The choices the server makes from the client's SMIMECapabilities.</summary>
    public readonly record struct Algorithms(string KeyAgreement, string KeyWrap, string ContentEncryption);

    /// <summary>
    /// Picks the key agreement scheme, key wrap and content encryption from <paramref name="capabilities"/> (client preference
    /// order, RFC 8551 §2.5.2). A scheme capability may carry its KeyWrapAlgorithm as parameters (RFC 5753 §5); otherwise the
    /// first listed AES key wrap is used, or one as strong as the content-encryption key. A list naming only a key wrap gets the
    /// scheme whose KDF hash matches the curve (SHA-256 for P-256, RFC 5753 §8). Throws <see cref="ArgumentException"/> when
    /// nothing usable is listed.
    /// </summary>
    public static Algorithms Choose(IReadOnlyList<SmimeCapability> capabilities, int curveBits)
    {
        string? scheme = null;
        string? schemeWrap = null;
        string? wrap = null;
        string? content = null;
        foreach (SmimeCapability capability in capabilities)
        {
            if (scheme is null && HashOf(capability.Oid) is not null && SchemeWrap(capability) is var listedWrap && listedWrap != "")
            {
                scheme = capability.Oid;
                schemeWrap = listedWrap;
            }

            wrap ??= WrapKeyLength(capability.Oid) > 0 ? capability.Oid : null;
            content ??= CmsEnvelopedData.ContentKeyLength(capability.Oid) > 0 ? capability.Oid : null;
        }

        if (scheme is null && wrap is null)
        {
            throw new ArgumentException("SMIMECapabilities lists no supported key agreement algorithm (dhSinglePass-stdDH-sha*kdf-scheme or an AES key wrap)");
        }

        content ??= EstOids.Aes256Cbc;
        scheme ??= curveBits switch
        {
            <= 256 => EstOids.EcdhStdSha256Kdf,
            <= 384 => EstOids.EcdhStdSha384Kdf,
            _ => EstOids.EcdhStdSha512Kdf,
        };

        // Without a listed wrap, one as strong as the content-encryption key it carries.
        wrap = schemeWrap ?? wrap ?? (content == EstOids.Aes128Cbc ? EstOids.Aes128Wrap : EstOids.Aes256Wrap);
        return new Algorithms(scheme, wrap, content);
    }

    /// <summary>The DER parameters of a scheme capability naming <paramref name="wrap"/> (RFC 5753 §5: KeyWrapAlgorithm).</summary>
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

    // The wrap a scheme capability names in its parameters; null when it names none, "" when it names one we lack.
    private static string? SchemeWrap(SmimeCapability capability)
    {
        if (!capability.HasParameters)
        {
            return null;
        }

        try
        {
            var reader = new AsnReader(capability.Parameters, AsnEncodingRules.DER);
            AsnReader algorithm = reader.ReadSequence();
            string oid = algorithm.ReadObjectIdentifier();
            return WrapKeyLength(oid) > 0 ? oid : "";
        }
        catch (AsnContentException)
        {
            return "";
        }
    }

    /// <summary>Encrypts <paramref name="content"/> of type <paramref name="contentType"/> for <paramref name="recipient"/>'s EC key; returns a DER ContentInfo.</summary>
    /// <remarks><paramref name="nullWrapParameters"/> writes the key wrap with NULL parameters, as some peers do (tests only).</remarks>
    public static byte[] Encrypt(ReadOnlySpan<byte> content, string contentType, X509Certificate2 recipient, Algorithms algorithms, bool nullWrapParameters = false)
    {
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
                            writer.WriteObjectIdentifier(EstOids.EcPublicKey);
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
        if (algorithm.ReadObjectIdentifier() != EstOids.EcPublicKey)
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

    // NIST curves have cofactor 1, so cofactor ECDH computes the same Z as standard ECDH (RFC 5753 §3.1.1).
    private static HashAlgorithmName? HashOf(string scheme) => scheme switch
    {
        EstOids.EcdhStdSha1Kdf or EstOids.EcdhCofactorSha1Kdf => HashAlgorithmName.SHA1,
        EstOids.EcdhStdSha256Kdf or EstOids.EcdhCofactorSha256Kdf => HashAlgorithmName.SHA256,
        EstOids.EcdhStdSha384Kdf or EstOids.EcdhCofactorSha384Kdf => HashAlgorithmName.SHA384,
        EstOids.EcdhStdSha512Kdf or EstOids.EcdhCofactorSha512Kdf => HashAlgorithmName.SHA512,
        _ => null,
    };

    /// <summary>The key-encryption key length of an AES key wrap identifier (RFC 3565), or 0.</summary>
    public static int WrapKeyLength(string wrap) => wrap switch
    {
        EstOids.Aes128Wrap => 16,
        EstOids.Aes192Wrap => 24,
        EstOids.Aes256Wrap => 32,
        _ => 0,
    };
}
