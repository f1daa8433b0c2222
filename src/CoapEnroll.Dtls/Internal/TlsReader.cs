using System.Buffers.Binary;

namespace CoapEnroll.Dtls;

/// <summary>
/// Bounds-checked reader for the TLS presentation language (RFC 5246 §4). Every Try method leaves
/// the reader unchanged on failure; nothing throws on malformed input.
/// </summary>
internal ref struct TlsReader
{
    private ReadOnlySpan<byte> _remaining;

    public TlsReader(ReadOnlySpan<byte> data) => _remaining = data;

    public readonly int Remaining => _remaining.Length;

    public readonly bool IsEmpty => _remaining.IsEmpty;

    public readonly ReadOnlySpan<byte> RemainingSpan => _remaining;

    public bool TryReadUInt8(out byte value)
    {
        if (_remaining.IsEmpty)
        {
            value = 0;
            return false;
        }

        value = _remaining[0];
        _remaining = _remaining[1..];
        return true;
    }

    public bool TryReadUInt16(out ushort value)
    {
        if (!BinaryPrimitives.TryReadUInt16BigEndian(_remaining, out value))
        {
            return false;
        }

        _remaining = _remaining[2..];
        return true;
    }

    public bool TryReadUInt24(out int value)
    {
        if (_remaining.Length < 3)
        {
            value = 0;
            return false;
        }

        value = (_remaining[0] << 16) | (_remaining[1] << 8) | _remaining[2];
        _remaining = _remaining[3..];
        return true;
    }

    public bool TryReadUInt48(out ulong value)
    {
        if (_remaining.Length < 6)
        {
            value = 0;
            return false;
        }

        value = ((ulong)BinaryPrimitives.ReadUInt16BigEndian(_remaining) << 32) | BinaryPrimitives.ReadUInt32BigEndian(_remaining[2..]);
        _remaining = _remaining[6..];
        return true;
    }

    public bool TryReadBytes(int count, out ReadOnlySpan<byte> value)
    {
        if ((uint)count > (uint)_remaining.Length)
        {
            value = default;
            return false;
        }

        value = _remaining[..count];
        _remaining = _remaining[count..];
        return true;
    }

    /// <summary>Reads a vector with a 1-, 2- or 3-byte length prefix, checking the declared bounds.</summary>
    public bool TryReadVector(int lengthBytes, int min, int max, out ReadOnlySpan<byte> value)
    {
        TlsReader copy = this;
        int length;
        bool ok;
        switch (lengthBytes)
        {
            case 1:
                ok = copy.TryReadUInt8(out byte b);
                length = b;
                break;
            case 2:
                ok = copy.TryReadUInt16(out ushort s);
                length = s;
                break;
            case 3:
                ok = copy.TryReadUInt24(out length);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(lengthBytes));
        }

        if (!ok || length < min || length > max || !copy.TryReadBytes(length, out value))
        {
            value = default;
            return false;
        }

        this = copy;
        return true;
    }
}
