using System.Buffers.Binary;

namespace CoapEnroll.Est;

/// <summary>
/// A minimal, strict CBOR codec for application/multipart-core (Content-Format 62, RFC 8710 §2): a definite-length array of
/// alternating unsigned-integer Content-Format and byte-string representation. Only what RFC 8710 allows is accepted: the
/// array and the strings have definite lengths in the shortest encoding (RFC 8949 §4.2.1), Content-Formats fit 16 bits, every
/// length is checked against the remaining input, and nothing may follow the array. The RFC 8710 §2 alternative of CBOR
/// null in place of a representation is not used by EST (RFC 9148 §4.3) and is rejected.
/// </summary>
public static class MultipartCore
{
    /// <summary>Most parts accepted when decoding (EST uses two).</summary>
    public const int MaxParts = 16;

    private const byte MajorUnsigned = 0;
    private const byte MajorBytes = 2;
    private const byte MajorArray = 4;

    /// <summary>Encodes the parts as a CBOR array [ct, bytes, ct, bytes, ...] with shortest-form heads (RFC 8949 §4.2.1).</summary>
    public static byte[] Encode(IReadOnlyList<MultipartCorePart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var output = new List<byte>(16 + parts.Sum(p => p.Data.Length + 8));
        WriteHead(output, MajorArray, (ulong)parts.Count * 2);
        foreach (MultipartCorePart part in parts)
        {
            if (part.ContentFormat is < 0 or > ushort.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(parts), part.ContentFormat, "a Content-Format is 0..65535 (RFC 7252 §12.3)");
            }

            WriteHead(output, MajorUnsigned, (ulong)part.ContentFormat);
            WriteHead(output, MajorBytes, (ulong)part.Data.Length);
            output.AddRange(part.Data.Span);
        }

        return [.. output];
    }

    /// <summary>Decodes a multipart-core body; returns false with a reason on anything but a well-formed, shortest-form collection.</summary>
    public static bool TryDecode(ReadOnlyMemory<byte> cbor, out IReadOnlyList<MultipartCorePart> parts, out string? error)
    {
        parts = [];
        int offset = 0;
        if (!TryReadHead(cbor.Span, ref offset, out byte major, out ulong count, out error))
        {
            return false;
        }

        if (major != MajorArray)
        {
            error = $"multipart-core must be a CBOR array, found major type {major}";
            return false;
        }

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

        var result = new List<MultipartCorePart>((int)count / 2);
        for (ulong i = 0; i < count; i += 2)
        {
            if (!TryReadHead(cbor.Span, ref offset, out major, out ulong format, out error))
            {
                return false;
            }

            if (major != MajorUnsigned || format > ushort.MaxValue)
            {
                error = $"part {i / 2}: the Content-Format must be an unsigned integer 0..65535";
                return false;
            }

            if (!TryReadHead(cbor.Span, ref offset, out major, out ulong length, out error))
            {
                return false;
            }

            if (major != MajorBytes)
            {
                error = $"part {i / 2}: the representation must be a byte string, found major type {major}";
                return false;
            }

            if (length > (ulong)(cbor.Length - offset))
            {
                error = $"part {i / 2}: byte string length {length} exceeds the remaining {cbor.Length - offset} bytes";
                return false;
            }

            result.Add(new MultipartCorePart((int)format, cbor.Slice(offset, (int)length)));
            offset += (int)length;
        }

        if (offset != cbor.Length)
        {
            error = $"{cbor.Length - offset} bytes follow the multipart-core array";
            return false;
        }

        parts = result;
        error = null;
        return true;
    }

    private static void WriteHead(List<byte> output, byte major, ulong value)
    {
        byte initial = (byte)(major << 5);
        Span<byte> buffer = stackalloc byte[8];
        if (value < 24)
        {
            output.Add((byte)(initial | (byte)value));
        }
        else if (value <= byte.MaxValue)
        {
            output.Add((byte)(initial | 24));
            output.Add((byte)value);
        }
        else if (value <= ushort.MaxValue)
        {
            output.Add((byte)(initial | 25));
            BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)value);
            output.AddRange(buffer[..2]);
        }
        else if (value <= uint.MaxValue)
        {
            output.Add((byte)(initial | 26));
            BinaryPrimitives.WriteUInt32BigEndian(buffer, (uint)value);
            output.AddRange(buffer[..4]);
        }
        else
        {
            output.Add((byte)(initial | 27));
            BinaryPrimitives.WriteUInt64BigEndian(buffer, value);
            output.AddRange(buffer);
        }
    }

    // RFC 8949 §3: initial byte (major type, additional information) and argument. Indefinite lengths (31) and the reserved
    // values 28..30 are refused, as are arguments that a shorter head could have carried (§4.2.1 preferred serialization).
    private static bool TryReadHead(ReadOnlySpan<byte> input, ref int offset, out byte major, out ulong value, out string? error)
    {
        major = 0;
        value = 0;
        if (offset >= input.Length)
        {
            error = "multipart-core is truncated";
            return false;
        }

        byte initial = input[offset++];
        major = (byte)(initial >> 5);
        int info = initial & 0x1F;
        int size = info switch
        {
            < 24 => 0,
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => -1,
        };
        if (size < 0)
        {
            error = info == 31 ? "indefinite-length CBOR items are not allowed in multipart-core" : $"reserved CBOR additional information {info}";
            return false;
        }

        if (size == 0)
        {
            value = (ulong)info;
            error = null;
            return true;
        }

        if (input.Length - offset < size)
        {
            error = "multipart-core is truncated inside an item head";
            return false;
        }

        ReadOnlySpan<byte> argument = input.Slice(offset, size);
        offset += size;
        value = size switch
        {
            1 => argument[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(argument),
            4 => BinaryPrimitives.ReadUInt32BigEndian(argument),
            _ => BinaryPrimitives.ReadUInt64BigEndian(argument),
        };
        ulong minimum = size switch
        {
            1 => 24,
            2 => 0x100,
            4 => 0x1_0000,
            _ => 0x1_0000_0000,
        };
        if (value < minimum)
        {
            error = "CBOR item head is not in shortest form (RFC 8949 §4.2.1)";
            return false;
        }

        error = null;
        return true;
    }
}
