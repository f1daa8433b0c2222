using System.Formats.Cbor;

namespace CoapEnroll.Est;

/// <summary>
/// application/multipart-core (Content-Format 62, RFC 8710 §2) on System.Formats.Cbor: a definite-length array of alternating
/// unsigned-integer Content-Format and byte-string representation. Only the deterministic encoding is written or accepted
/// (RFC 8949 §4.2.1: definite lengths, shortest heads); Content-Formats fit 16 bits and nothing may follow the array. The
/// RFC 8710 §2 alternative of CBOR null in place of a representation is not used by EST (RFC 9148 §4.8) and is refused.
/// </summary>
public static class MultipartCore
{
    /// <summary>Most parts accepted when decoding (EST uses two).</summary>
    public const int MaxParts = 16;

    // Ctap2Canonical, the strictest mode System.Formats.Cbor has: what Canonical requires (definite lengths, shortest integer and
    // length heads: RFC 8949 §4.2.1), which the reader checks as it reads each item, and no tags, which multipart-core never has
    // (the type checks below refuse them first). Its map key order is §4.2.1's bytewise one (Canonical's is RFC 7049's
    // length-first). Neither mode refuses a float that a shorter one could carry, and this writer keeps a float's width: a later
    // format with floats has to see to §4.2.1 itself, and one with tags needs Canonical.
    private const CborConformanceMode Conformance = CborConformanceMode.Ctap2Canonical;

    /// <summary>Encodes the parts as a CBOR array [ct, bytes, ct, bytes, ...] with shortest-form heads (RFC 8949 §4.2.1).</summary>
    public static byte[] Encode(IReadOnlyList<MultipartCorePart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        int items = checked(parts.Count * 2);
        // The exact size, so that the writer's buffer is allocated once and Encode() copies it once.
        int size = HeadSize((ulong)items);
        foreach (MultipartCorePart part in parts)
        {
            if (part.ContentFormat is < 0 or > ushort.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(parts), part.ContentFormat, "a Content-Format is 0..65535 (RFC 7252 §12.3)");
            }

            size = checked(size + HeadSize((ulong)part.ContentFormat) + HeadSize((ulong)part.Data.Length) + part.Data.Length);
        }

        var writer = new CborWriter(Conformance, convertIndefiniteLengthEncodings: false, allowMultipleRootLevelValues: false, initialCapacity: size);
        writer.WriteStartArray(items);
        foreach (MultipartCorePart part in parts)
        {
            writer.WriteUInt32((uint)part.ContentFormat);
            writer.WriteByteString(part.Data.Span);
        }

        writer.WriteEndArray();
        return writer.Encode();
    }

    /// <summary>
    /// Decodes a multipart-core body; returns false with a reason on anything but a well-formed collection in deterministic
    /// encoding. The parts' data are slices of <paramref name="cbor"/>, not copies.
    /// </summary>
    public static bool TryDecode(ReadOnlyMemory<byte> cbor, out IReadOnlyList<MultipartCorePart> parts, out string? error)
    {
        parts = [];
        // One root item: with allowMultipleRootLevelValues false the reader reports Finished after the array even when bytes
        // remain, so trailing bytes are refused below by BytesRemaining, not by the reader.
        var reader = new CborReader(cbor, Conformance, allowMultipleRootLevelValues: false);
        // Where a CborContentException came from, made into text only on failure: the array head while part is -1.
        int part = -1;
        bool atRepresentation = false;
        try
        {
            CborReaderState state = reader.PeekState();
            if (state != CborReaderState.StartArray)
            {
                error = $"multipart-core must be a CBOR array, found {Describe(state)}";
                return false;
            }

            // Never null: the conformance mode refuses an indefinite-length array before this returns.
            int count = reader.ReadStartArray() ?? throw new CborContentException("indefinite-length array");
            if (count % 2 != 0)
            {
                error = "multipart-core array has an odd number of items (RFC 8710 §2: Content-Format and representation pairs)";
                return false;
            }

            if (count > MaxParts * 2)
            {
                error = $"multipart-core has more than {MaxParts} parts";
                return false;
            }

            var result = new List<MultipartCorePart>(count / 2);
            for (int i = 0; i < count / 2; i++)
            {
                part = i;
                atRepresentation = false;
                state = reader.PeekState();
                if (state != CborReaderState.UnsignedInteger)
                {
                    error = $"part {i}: the Content-Format must be an unsigned integer 0..65535, found {Describe(state)}";
                    return false;
                }

                ulong format = reader.ReadUInt64();
                if (format > ushort.MaxValue)
                {
                    error = $"part {i}: the Content-Format must be an unsigned integer 0..65535, found {format}";
                    return false;
                }

                atRepresentation = true;
                state = reader.PeekState();
                if (state == CborReaderState.Null)
                {
                    error = $"part {i}: the representation is null (RFC 8710 §2 allows it, EST does not use it: RFC 9148 §4.8)";
                    return false;
                }

                if (state != CborReaderState.ByteString)
                {
                    error = $"part {i}: the representation must be a byte string, found {Describe(state)}";
                    return false;
                }

                // A slice of the input: ReadByteString would copy every representation.
                result.Add(new MultipartCorePart((int)format, reader.ReadDefiniteLengthByteString()));
            }

            reader.ReadEndArray();
            if (reader.BytesRemaining != 0)
            {
                error = $"{reader.BytesRemaining} bytes follow the multipart-core array";
                return false;
            }

            parts = result;
            error = null;
            return true;
        }
        catch (CborContentException e)
        {
            // Truncation, a length beyond the input, reserved additional information, and what the conformance mode refuses when
            // an item is read: an indefinite-length array, heads a shorter one could carry.
            string where = part < 0 ? "the array head" : $"part {part}: the {(atRepresentation ? "representation" : "Content-Format")}";
            error = $"{where} is not well-formed CBOR in deterministic encoding (RFC 8949 §4.2.1): {e.Message}";
            return false;
        }
    }

    private static int HeadSize(ulong argument) => argument switch
    {
        < 24 => 1,
        <= byte.MaxValue => 2,
        <= ushort.MaxValue => 3,
        <= uint.MaxValue => 5,
        _ => 9,
    };

    private static string Describe(CborReaderState state) => state switch
    {
        CborReaderState.UnsignedInteger => "an unsigned integer (major type 0)",
        CborReaderState.NegativeInteger => "a negative integer (major type 1)",
        CborReaderState.ByteString => "a byte string (major type 2)",
        CborReaderState.StartIndefiniteLengthByteString => "an indefinite-length byte string (major type 2; RFC 8949 §4.2.1 allows definite lengths only)",
        CborReaderState.TextString => "a text string (major type 3)",
        CborReaderState.StartIndefiniteLengthTextString => "an indefinite-length text string (major type 3)",
        CborReaderState.StartArray => "an array (major type 4)",
        CborReaderState.StartMap => "a map (major type 5)",
        CborReaderState.Tag => "a tag (major type 6)",
        CborReaderState.Null => "null (major type 7)",
        CborReaderState.SimpleValue or CborReaderState.Boolean or CborReaderState.Undefined or CborReaderState.HalfPrecisionFloat
            or CborReaderState.SinglePrecisionFloat or CborReaderState.DoublePrecisionFloat => $"{state} (major type 7)",
        _ => state.ToString(),
    };
}
