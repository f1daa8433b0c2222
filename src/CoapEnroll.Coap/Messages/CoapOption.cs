using System.Buffers.Binary;
using System.Text;

namespace CoapEnroll.Coap;

/// <summary>One option instance: a number and its raw value (RFC 7252 §3.1, §5.4).</summary>
public readonly struct CoapOption : IEquatable<CoapOption>
{
    // The one-byte values 0x00-0xFF, shared by every option that has one: a value is read-only once in an option.
    private static readonly byte[][] s_singleBytes = CreateSingleBytes();

    public CoapOption(int number, ReadOnlyMemory<byte> value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(number, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value.Length, CoapMessageDecoder.MaxOptionLength);
        Number = number;
        Value = value;
    }

    public int Number { get; }

    public ReadOnlyMemory<byte> Value { get; }

    public string Name => CoapOptionRegistry.GetName(Number);

    public static CoapOption Empty(int number) => new(number, ReadOnlyMemory<byte>.Empty);

    public static CoapOption FromString(int number, string value) => new(number, Encoding.UTF8.GetBytes(value));

    /// <summary>A uint option in its shortest form: leading zero bytes removed, zero is empty (RFC 7252 §3.2).</summary>
    public static CoapOption FromUInt(int number, uint value)
    {
        int length = GetUIntLength(value);
        if (length <= 1)
        {
            // The common case (Content-Format, Max-Age, Observe, Accept, small block numbers) allocates nothing.
            return new CoapOption(number, length == 0 ? ReadOnlyMemory<byte>.Empty : s_singleBytes[value]);
        }

        byte[] bytes = new byte[length];
        for (int i = length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)value;
            value >>= 8;
        }

        return new CoapOption(number, bytes);
    }

    private static byte[][] CreateSingleBytes()
    {
        var values = new byte[256][];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = [(byte)i];
        }

        return values;
    }

    internal static int GetUIntLength(uint value) => value switch
    {
        0 => 0,
        <= 0xFF => 1,
        <= 0xFFFF => 2,
        <= 0xFFFFFF => 3,
        _ => 4,
    };

    /// <summary>Reads the value as an unsigned integer; false when it is longer than four bytes.</summary>
    public bool TryGetUInt(out uint value)
    {
        ReadOnlySpan<byte> span = Value.Span;
        value = 0;
        if (span.Length > 4)
        {
            return false;
        }

        foreach (byte b in span)
        {
            value = (value << 8) | b;
        }

        return true;
    }

    /// <summary>The value as an unsigned integer.</summary>
    /// <exception cref="CoapProtocolException">The value is longer than four bytes.</exception>
    public uint GetUInt() => TryGetUInt(out uint v)
        ? v
        : throw new CoapProtocolException(CoapError.BadOption, $"{Name} value of {Value.Length} bytes is not a uint.");

    /// <summary>The value decoded as UTF-8.</summary>
    public string GetString() => Encoding.UTF8.GetString(Value.Span);

    public bool Equals(CoapOption other) => Number == other.Number && Value.Span.SequenceEqual(other.Value.Span);

    public override bool Equals(object? obj) => obj is CoapOption other && Equals(other);

    public override int GetHashCode()
    {
        HashCode hash = default;
        hash.Add(Number);
        hash.AddBytes(Value.Span);
        return hash.ToHashCode();
    }

    public static bool operator ==(CoapOption left, CoapOption right) => left.Equals(right);

    public static bool operator !=(CoapOption left, CoapOption right) => !left.Equals(right);

    /// <summary>Formats the value the way its registered format reads best.</summary>
    public override string ToString()
    {
        CoapOptionFormat format = CoapOptionRegistry.TryGet(Number, out var def) ? def.Format : CoapOptionFormat.Opaque;
        string value = format switch
        {
            CoapOptionFormat.Empty => string.Empty,
            // TryDecode, not Decode: a received Block option with the reserved SZX 7 (RFC 7959 §2.2)
            // must still print, as plain uint, when a malformed message is logged.
            CoapOptionFormat.UInt when Number is CoapOptionNumber.Block1 or CoapOptionNumber.Block2 && TryGetUInt(out uint b) && BlockOption.TryDecode(b, out var block)
                => block.ToString(),
            CoapOptionFormat.UInt when TryGetUInt(out uint u) => u.ToString(System.Globalization.CultureInfo.InvariantCulture),
            CoapOptionFormat.String => GetString(),
            _ => "0x" + Convert.ToHexString(Value.Span),
        };
        return $"{Name}: {value}";
    }

    internal static void WriteUInt(Span<byte> destination, uint value, int length)
    {
        Span<byte> tmp = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tmp, value);
        tmp[(4 - length)..].CopyTo(destination);
    }
}
