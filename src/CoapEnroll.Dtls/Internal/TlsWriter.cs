using System.Buffers.Binary;

namespace CoapEnroll.Dtls;

/// <summary>
/// Growable writer for the TLS presentation language (RFC 5246 §4), used for handshake messages
/// (not a hot path). Vector lengths are patched in when the vector is closed and checked against the
/// declared maximum, so a message that cannot be encoded throws instead of being truncated.
/// </summary>
internal sealed class TlsWriter
{
    private byte[] _buffer;
    private int _length;

    public TlsWriter(int capacity = 256) => _buffer = new byte[Math.Max(capacity, 16)];

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    public void WriteUInt8(byte value) => GetSpan(1)[0] = value;

    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(GetSpan(2), value);

    public void WriteUInt24(int value)
    {
        if ((uint)value > 0xFFFFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(value));
        }

        Span<byte> span = GetSpan(3);
        span[0] = (byte)(value >> 16);
        span[1] = (byte)(value >> 8);
        span[2] = (byte)value;
    }

    public void WriteBytes(ReadOnlySpan<byte> value) => value.CopyTo(GetSpan(value.Length));

    /// <summary>Writes a vector with a length prefix of <paramref name="lengthBytes"/> bytes.</summary>
    public void WriteVector(int lengthBytes, int min, int max, ReadOnlySpan<byte> value)
    {
        int start = BeginVector(lengthBytes);
        WriteBytes(value);
        EndVector(start, lengthBytes, min, max);
    }

    /// <summary>Reserves a length prefix; returns the token to pass to <see cref="EndVector"/>.</summary>
    public int BeginVector(int lengthBytes)
    {
        if (lengthBytes is < 1 or > 3)
        {
            throw new ArgumentOutOfRangeException(nameof(lengthBytes));
        }

        int start = _length;
        GetSpan(lengthBytes).Clear();
        return start;
    }

    public void EndVector(int start, int lengthBytes, int min, int max)
    {
        int length = _length - start - lengthBytes;
        if (length < min || length > max)
        {
            throw new InvalidOperationException($"Vector length {length} outside <{min}..{max}>.");
        }

        Span<byte> prefix = _buffer.AsSpan(start, lengthBytes);
        for (int i = lengthBytes - 1; i >= 0; i--)
        {
            prefix[i] = (byte)length;
            length >>= 8;
        }
    }

    private Span<byte> GetSpan(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }

        Span<byte> span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
