namespace CoapEnroll.Coap;

/// <summary>
/// A Block1 or Block2 value: block number, more flag and size exponent (RFC 7959 §2.2).
/// </summary>
public readonly record struct BlockOption
{
    /// <summary>The largest encodable value: NUM is at most 20 bits.</summary>
    public const uint MaxEncodedValue = 0xFFFFFF;

    /// <summary>The largest block number (2^20 - 1).</summary>
    public const int MaxNumber = 0xFFFFF;

    public BlockOption(int number, bool more, int sizeExponent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(number, MaxNumber);
        ArgumentOutOfRangeException.ThrowIfNegative(sizeExponent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sizeExponent, 6);
        Number = number;
        More = more;
        SizeExponent = sizeExponent;
    }

    /// <summary>NUM: the block's position in units of <see cref="Size"/>.</summary>
    public int Number { get; }

    /// <summary>M: more blocks follow.</summary>
    public bool More { get; }

    /// <summary>SZX: size is 2^(SZX+4); 7 is reserved and never constructed.</summary>
    public int SizeExponent { get; }

    public int Size => 1 << (SizeExponent + 4);

    /// <summary>The byte offset of this block in the whole body.</summary>
    public int Offset => Number * Size;

    /// <summary>The SZX for a block size of 16..1024 bytes (a power of two).</summary>
    public static int SizeToExponent(int size)
    {
        if (size < 16 || size > 1024 || (size & (size - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(size), size, "Block size must be a power of two from 16 to 1024.");
        }

        return System.Numerics.BitOperations.Log2((uint)size) - 4;
    }

    public uint Encode() => ((uint)Number << 4) | (More ? 8u : 0u) | (uint)SizeExponent;

    /// <summary>Decodes a value; false for SZX 7 (reserved, RFC 7959 §2.2) or more than 24 bits.</summary>
    public static bool TryDecode(uint value, out BlockOption block)
    {
        block = default;
        if (value > MaxEncodedValue || (value & 7) == 7)
        {
            return false;
        }

        block = new BlockOption((int)(value >> 4), (value & 8) != 0, (int)(value & 7));
        return true;
    }

    /// <summary>Decodes a value.</summary>
    /// <exception cref="CoapProtocolException">The value is not a valid block option.</exception>
    public static BlockOption Decode(uint value) => TryDecode(value, out var b)
        ? b
        : throw new CoapProtocolException(CoapError.BadOption, $"Block option value {value} is invalid.");

    public CoapOption ToOption(int optionNumber) => CoapOption.FromUInt(optionNumber, Encode());

    public override string ToString() => $"{Number}/{(More ? 1 : 0)}/{Size}";
}
