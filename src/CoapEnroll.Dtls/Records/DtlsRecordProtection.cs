using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// AEAD protection of records for one direction of one epoch (RFC 5246 §6.2.3.3, RFC 6347 §4.1.2.1,
/// RFC 9146 §5.3 for tls12_cid records).
/// <list type="bullet">
/// <item>nonce = fixed_iv (4 bytes from the key block) || explicit nonce (8 bytes in the record); we send
/// epoch || sequence_number as the explicit nonce, which is unique per key (RFC 5288 §3, RFC 6655 §3).</item>
/// <item>additional_data (no CID) = epoch || seq (8) || type || version || plaintext length.</item>
/// <item>additional_data (CID) = 8 × 0xff || 25 || cid_length || 25 || version || epoch || seq || cid ||
/// length_of_DTLSInnerPlaintext, over DTLSInnerPlaintext = content || real_type || zeros.</item>
/// </list>
/// Allocation-free per record (nonce and AD are on the stack). Not thread-safe: the underlying
/// <see cref="AesCcm"/>/<see cref="AesGcm"/> instances are not; process one connection's records
/// serially. This type neither tracks sequence numbers nor replay: the caller owns the write sequence
/// counter and the <see cref="AntiReplayWindow"/>.
/// A struct, held inline by the connection: every idle established session keeps one per direction for its whole life,
/// and an object each (with its header, its suite and the connection's reference to it) cost 80 B per session. The default value
/// is "no keys" (<see cref="IsCreated"/> false). Copies share the cipher object; dispose only the one the owner keeps.
/// </summary>
internal struct DtlsRecordProtection : IDisposable
{
    private const int ExplicitNonceLength = 8; // RecordIvLength of every suite here

    private const int MaxAdLength = 8 + 3 + 2 + 2 + 6 + DtlsRecordCodec.MaxConnectionIdLength + 2;

    private readonly IDisposable? _aead; // AesCcm or AesGcm: one field, as every session keeps two of these
    private readonly byte _tagLength; // what the record layout needs of the suite; the connection keeps the suite itself
    private uint _fixedIv; // the 4-byte salt of every suite here, as a field: each session keeps two of these for its life
    private bool _disposed;

    private DtlsRecordProtection(CipherSuiteInfo suite, ReadOnlySpan<byte> key, ReadOnlySpan<byte> fixedIv)
    {
        _tagLength = checked((byte)suite.TagLength);
        if (suite.RecordIvLength != ExplicitNonceLength)
        {
            throw new ArgumentException("Only suites with an 8-byte explicit nonce.", nameof(suite));
        }

        if (key.Length != suite.EncryptionKeyLength)
        {
            throw new ArgumentException("Wrong key length.", nameof(key));
        }

        if (fixedIv.Length != suite.FixedIvLength || fixedIv.Length != sizeof(uint))
        {
            throw new ArgumentException("Wrong fixed IV length.", nameof(fixedIv));
        }

        _fixedIv = BinaryPrimitives.ReadUInt32BigEndian(fixedIv);
        if (suite.Aead == AeadAlgorithm.AesCcm)
        {
            _aead = new AesCcm(key);
        }
        else
        {
            _aead = new AesGcm(key, suite.TagLength);
        }
    }


    /// <summary>False for the default value: no keys installed.</summary>
    public readonly bool IsCreated => _aead is not null;

    /// <summary>Created and not disposed: the keys are still held.</summary>
    public readonly bool IsUsable => _aead is not null && !_disposed;

    /// <summary>Creates the protection for one direction from its write key and write IV (see <see cref="DtlsKeyBlock"/>).</summary>
    public static DtlsRecordProtection Create(CipherSuiteInfo suite, ReadOnlySpan<byte> writeKey, ReadOnlySpan<byte> fixedIv) =>
        new(suite, writeKey, fixedIv);

    /// <summary>
    /// Total record length <see cref="Seal"/> produces: header (+CID) + explicit nonce + content
    /// (+ real type + padding when a CID is present) + tag.
    /// </summary>
    public readonly int GetSealedLength(int plaintextLength, int connectionIdLength = 0, int paddingLength = 0)
    {
        int inner = connectionIdLength > 0 ? plaintextLength + 1 + paddingLength : plaintextLength;
        return DtlsRecordCodec.HeaderLength + connectionIdLength + ExplicitNonceLength + _tagLength + inner;
    }

    /// <summary>Largest plaintext that fits a record of at most <paramref name="maxRecordLength"/> bytes.</summary>
    public readonly int GetMaxPlaintextLength(int maxRecordLength, int connectionIdLength = 0) =>
        Math.Min(DtlsRecordCodec.MaxPlaintextLength, maxRecordLength - GetSealedLength(0, connectionIdLength));

    /// <summary>
    /// Writes a complete protected record (header included) into <paramref name="destination"/> and returns
    /// its length. With a non-empty <paramref name="connectionId"/> the record is a tls12_cid record whose
    /// inner plaintext carries <paramref name="type"/> and <paramref name="paddingLength"/> zeros (RFC 9146 §4).
    /// <paramref name="plaintext"/> may lie anywhere, including inside <paramref name="destination"/>.
    /// The caller must never reuse (epoch, sequenceNumber) under one key.
    /// </summary>
    public readonly int Seal(Span<byte> destination, ContentType type, ushort epoch, ulong sequenceNumber, ReadOnlySpan<byte> plaintext,
        ReadOnlySpan<byte> connectionId = default, int paddingLength = 0, ushort version = DtlsVersion.Dtls12)
    {
        ThrowIfUnusable();
        if (type is ContentType.Tls12Cid or ContentType.Invalid)
        {
            throw new ArgumentException("Pass the real content type.", nameof(type));
        }

        if (epoch == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(epoch), "Epoch 0 is never protected.");
        }

        if (sequenceNumber > DtlsRecordCodec.MaxSequenceNumber)
        {
            throw new ArgumentOutOfRangeException(nameof(sequenceNumber), "Sequence number space exhausted; rekeying is not supported.");
        }

        bool cid = !connectionId.IsEmpty;
        if (paddingLength < 0 || (!cid && paddingLength != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(paddingLength), "Padding exists only in CID records.");
        }

        int innerLength = cid ? plaintext.Length + 1 + paddingLength : plaintext.Length;
        // RFC 9146 §5: length_of_DTLSInnerPlaintext (content + type + padding) must not exceed 2^14 either.
        if (innerLength > DtlsRecordCodec.MaxPlaintextLength)
        {
            throw new ArgumentOutOfRangeException(nameof(plaintext), "Record plaintext above 2^14.");
        }

        int recordLength = GetSealedLength(plaintext.Length, connectionId.Length, paddingLength);
        if (destination.Length < recordLength)
        {
            throw new ArgumentException("Destination too small.", nameof(destination));
        }

        int headerLength = DtlsRecordCodec.HeaderLength + connectionId.Length;
        int tagLength = _tagLength;
        Span<byte> body = destination[headerLength..recordLength];
        Span<byte> explicitNonce = body[..8];
        Span<byte> inner = body.Slice(8, innerLength);
        Span<byte> tag = body.Slice(8 + innerLength, tagLength);

        // Move the plaintext first: it may overlap the header area we are about to write.
        plaintext.CopyTo(inner);
        if (cid)
        {
            inner[plaintext.Length] = (byte)type;
            inner[(plaintext.Length + 1)..].Clear();
        }

        DtlsRecordCodec.WriteHeader(destination, cid ? ContentType.Tls12Cid : type, version, epoch, sequenceNumber, connectionId,
            body.Length);
        BinaryPrimitives.WriteUInt16BigEndian(explicitNonce, epoch);
        WriteUInt48(explicitNonce[2..], sequenceNumber);

        Span<byte> nonce = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(nonce, _fixedIv);
        explicitNonce.CopyTo(nonce[4..]);

        Span<byte> ad = stackalloc byte[MaxAdLength];
        int adLength = cid
            ? WriteCidAdditionalData(ad, version, epoch, sequenceNumber, connectionId, innerLength)
            : WriteAdditionalData(ad, type, version, epoch, sequenceNumber, innerLength);

        if (_aead is AesCcm ccm)
        {
            ccm.Encrypt(nonce, inner, inner, tag, ad[..adLength]);
        }
        else
        {
            ((AesGcm)_aead!).Encrypt(nonce, inner, inner, tag, ad[..adLength]);
        }

        return recordLength;
    }

    /// <summary>
    /// Authenticates and decrypts <paramref name="record"/> (epoch &gt; 0) into <paramref name="destination"/>
    /// (which must not partially overlap the record's payload). Returns false for anything that does not
    /// authenticate or is malformed, including a CID inner plaintext without a content type; the caller
    /// drops such records silently (RFC 6347 §4.1.2.7) and must not mark the replay window.
    /// On success <paramref name="contentType"/> is the real content type (inner type for CID records).
    /// </summary>
    public readonly bool TryOpen(in DtlsRecord record, Span<byte> destination, out ContentType contentType, out int plaintextLength)
    {
        ThrowIfUnusable();
        contentType = ContentType.Invalid;
        plaintextLength = 0;
        int tagLength = _tagLength;
        ReadOnlySpan<byte> payload = record.Payload;
        if (record.Epoch == 0 || payload.Length < 8 + tagLength)
        {
            return false;
        }

        int innerLength = payload.Length - 8 - tagLength;
        bool cid = record.HasConnectionId;
        if (innerLength > DtlsRecordCodec.MaxPlaintextLength || destination.Length < innerLength)
        {
            return false;
        }

        Span<byte> nonce = stackalloc byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(nonce, _fixedIv);
        payload[..8].CopyTo(nonce[4..]);

        Span<byte> ad = stackalloc byte[MaxAdLength];
        int adLength = cid
            ? WriteCidAdditionalData(ad, record.Version, record.Epoch, record.SequenceNumber, record.ConnectionId, innerLength)
            : WriteAdditionalData(ad, record.ContentType, record.Version, record.Epoch, record.SequenceNumber, innerLength);

        Span<byte> output = destination[..innerLength];
        ReadOnlySpan<byte> ciphertext = payload.Slice(8, innerLength);
        ReadOnlySpan<byte> tag = payload.Slice(8 + innerLength, tagLength);
        try
        {
            if (_aead is AesCcm ccm)
            {
                ccm.Decrypt(nonce, ciphertext, tag, output, ad[..adLength]);
            }
            else
            {
                ((AesGcm)_aead!).Decrypt(nonce, ciphertext, tag, output, ad[..adLength]);
            }
        }
        catch (CryptographicException)
        {
            // The platform offers no non-throwing decrypt; forged records therefore cost an exception.
            // The platform clears the output on failure.
            return false;
        }

        if (!cid)
        {
            contentType = record.ContentType;
            plaintextLength = innerLength;
            return true;
        }

        // RFC 9146 §4: strip the zero padding; the last non-zero byte is the real content type.
        int i = innerLength - 1;
        while (i >= 0 && output[i] == 0)
        {
            i--;
        }

        if (i < 0 || output[i] == (byte)ContentType.Tls12Cid)
        {
            CryptographicOperations.ZeroMemory(output);
            return false;
        }

        contentType = (ContentType)output[i];
        plaintextLength = i;
        return true;
    }

    /// <summary>RFC 5246 §6.2.3.3 additional data with the DTLS 64-bit seq_num = epoch || sequence_number.</summary>
    internal static int WriteAdditionalData(Span<byte> ad, ContentType type, ushort version, ushort epoch, ulong sequenceNumber, int length)
    {
        BinaryPrimitives.WriteUInt16BigEndian(ad, epoch);
        WriteUInt48(ad[2..], sequenceNumber);
        ad[8] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(ad[9..], version);
        BinaryPrimitives.WriteUInt16BigEndian(ad[11..], (ushort)length);
        return 13;
    }

    /// <summary>RFC 9146 §5.3 additional data for tls12_cid records (the final RFC layout, not the draft's).</summary>
    internal static int WriteCidAdditionalData(Span<byte> ad, ushort version, ushort epoch, ulong sequenceNumber,
        ReadOnlySpan<byte> connectionId, int innerPlaintextLength)
    {
        ad[..8].Fill(0xff);
        ad[8] = (byte)ContentType.Tls12Cid;
        ad[9] = (byte)connectionId.Length;
        ad[10] = (byte)ContentType.Tls12Cid;
        BinaryPrimitives.WriteUInt16BigEndian(ad[11..], version);
        BinaryPrimitives.WriteUInt16BigEndian(ad[13..], epoch);
        WriteUInt48(ad[15..], sequenceNumber);
        connectionId.CopyTo(ad[21..]);
        BinaryPrimitives.WriteUInt16BigEndian(ad[(21 + connectionId.Length)..], (ushort)innerPlaintextLength);
        return 23 + connectionId.Length;
    }

    private static void WriteUInt48(Span<byte> destination, ulong value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)(value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)value);
    }

    private readonly void ThrowIfUnusable()
    {
        // The Type overload: the object overload would box this struct on every record.
        ObjectDisposedException.ThrowIf(_disposed || _aead is null, typeof(DtlsRecordProtection));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed || _aead is null)
        {
            return;
        }

        _disposed = true;
        _fixedIv = 0;
        _aead.Dispose();
    }
}
