using System.Buffers.Binary;

namespace CoapEnroll.Dtls;

/// <summary>
/// The DTLS 1.2 record header codec (RFC 6347 §4.1; RFC 9146 §4 for tls12_cid). Allocation-free.
/// <code>
/// type(1) version(2) epoch(2) sequence_number(6) [cid(n), tls12_cid only] length(2)
/// </code>
/// The CID length is not on the wire; the receiver must know it (our own CIDs have one fixed length),
/// so parsing takes it as a parameter.
/// </summary>
internal static class DtlsRecordCodec
{
    /// <summary>Header length without CID.</summary>
    public const int HeaderLength = 13;

    /// <summary>2^14: DTLSPlaintext.length and the inner plaintext limit (RFC 5246 §6.2.1).</summary>
    public const int MaxPlaintextLength = 1 << 14;

    /// <summary>2^14 + 2048: DTLSCiphertext.length limit (RFC 5246 §6.2.3).</summary>
    public const int MaxCiphertextLength = (1 << 14) + 2048;

    /// <summary>2^48 - 1: the largest record sequence number.</summary>
    public const ulong MaxSequenceNumber = (1UL << 48) - 1;

    /// <summary>Largest CID RFC 9146 §3 allows (uint8 length).</summary>
    public const int MaxConnectionIdLength = 255;

    /// <summary>Header length for a record carrying a CID of <paramref name="connectionIdLength"/> bytes (0 = no CID).</summary>
    public static int GetHeaderLength(int connectionIdLength) => HeaderLength + connectionIdLength;

    /// <summary>
    /// Parses the record at the start of <paramref name="data"/>. <paramref name="connectionIdLength"/> is
    /// the length of the CIDs this endpoint expects to receive (0 when none was negotiated).
    /// Never throws on malformed input.
    /// </summary>
    public static RecordParseStatus TryReadRecord(ReadOnlySpan<byte> data, int connectionIdLength, out DtlsRecord record, out int bytesConsumed)
    {
        record = default;
        bytesConsumed = 0;
        if ((uint)connectionIdLength > MaxConnectionIdLength)
        {
            throw new ArgumentOutOfRangeException(nameof(connectionIdLength));
        }

        if (data.IsEmpty)
        {
            return RecordParseStatus.EndOfDatagram;
        }

        if (data.Length < HeaderLength)
        {
            return RecordParseStatus.Truncated;
        }

        var type = (ContentType)data[0];
        ushort version = BinaryPrimitives.ReadUInt16BigEndian(data[1..]);
        ushort epoch = BinaryPrimitives.ReadUInt16BigEndian(data[3..]);
        ulong seq = ((ulong)BinaryPrimitives.ReadUInt16BigEndian(data[5..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(data[7..]);

        if (version >> 8 != 254)
        {
            return RecordParseStatus.BadVersion;
        }

        int cidLength = 0;
        switch (type)
        {
            case ContentType.ChangeCipherSpec:
            case ContentType.Alert:
            case ContentType.Handshake:
            case ContentType.ApplicationData:
                break;
            case ContentType.Tls12Cid:
                if (connectionIdLength == 0)
                {
                    return RecordParseStatus.UnexpectedConnectionId;
                }

                if (epoch == 0)
                {
                    return RecordParseStatus.ConnectionIdAtEpochZero;
                }

                cidLength = connectionIdLength;
                break;
            default:
                return RecordParseStatus.UnknownContentType;
        }

        int headerLength = HeaderLength + cidLength;
        if (data.Length < headerLength)
        {
            return RecordParseStatus.Truncated;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(data[(headerLength - 2)..]);
        int max = epoch == 0 ? MaxPlaintextLength : MaxCiphertextLength;
        if (length > max)
        {
            return RecordParseStatus.RecordTooLong;
        }

        if (data.Length - headerLength < length)
        {
            return RecordParseStatus.Truncated;
        }

        record = new DtlsRecord(type, version, epoch, seq, data.Slice(11, cidLength), data.Slice(headerLength, length), data[..headerLength]);
        bytesConsumed = headerLength + length;
        return RecordParseStatus.Success;
    }

    /// <summary>
    /// Writes a record header. A non-empty <paramref name="connectionId"/> produces the RFC 9146 layout;
    /// the caller then passes <see cref="ContentType.Tls12Cid"/> as <paramref name="type"/>.
    /// Returns the header length.
    /// </summary>
    public static int WriteHeader(Span<byte> destination, ContentType type, ushort version, ushort epoch, ulong sequenceNumber,
        ReadOnlySpan<byte> connectionId, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sequenceNumber, MaxSequenceNumber);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)length, (uint)ushort.MaxValue, nameof(length));

        if (connectionId.Length > MaxConnectionIdLength || (connectionId.IsEmpty == (type == ContentType.Tls12Cid)))
        {
            throw new ArgumentException("tls12_cid records and only they carry a connection ID.", nameof(connectionId));
        }

        int headerLength = HeaderLength + connectionId.Length;
        if (destination.Length < headerLength)
        {
            throw new ArgumentException("Destination too small.", nameof(destination));
        }

        destination[0] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[1..], version);
        BinaryPrimitives.WriteUInt16BigEndian(destination[3..], epoch);
        BinaryPrimitives.WriteUInt16BigEndian(destination[5..], (ushort)(sequenceNumber >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(destination[7..], (uint)sequenceNumber);
        connectionId.CopyTo(destination[11..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(11 + connectionId.Length)..], (ushort)length);
        return headerLength;
    }

    /// <summary>
    /// Writes an unprotected record (epoch 0: ClientHello, HelloVerifyRequest, the first flights, and
    /// alerts before keys exist). Returns the total record length.
    /// </summary>
    public static int WritePlaintextRecord(Span<byte> destination, ContentType type, ulong sequenceNumber, ReadOnlySpan<byte> fragment,
        ushort version = DtlsVersion.Dtls12)
    {
        if (fragment.Length > MaxPlaintextLength)
        {
            throw new ArgumentOutOfRangeException(nameof(fragment), "Fragment longer than 2^14.");
        }

        if (type == ContentType.Tls12Cid)
        {
            throw new ArgumentException("CID records are always protected.", nameof(type));
        }

        int header = WriteHeader(destination, type, version, 0, sequenceNumber, default, fragment.Length);
        fragment.CopyTo(destination[header..]);
        return header + fragment.Length;
    }
}
