using System.Buffers;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// One decrypted application datagram in a buffer rented from <see cref="ArrayPool{T}.Shared"/>: the record
/// layer decrypts into it and hands it to the channel's queue, so the data is copied once more only, into the
/// caller's buffer in ReceiveAsync. Ownership moves with the value: whoever holds it last calls
/// <see cref="CopyToAndReturn"/> or <see cref="Return"/> exactly once, and nobody uses it afterwards. The plaintext
/// is zeroed before the buffer goes back to the pool.
/// </summary>
internal readonly struct PooledDatagram
{
    private readonly byte[] _buffer;

    public PooledDatagram(byte[] buffer, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)length, (uint)buffer.Length, nameof(length));
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    /// <summary>True for <c>default</c>: no buffer.</summary>
    public bool IsEmpty => _buffer is null;

    /// <summary>Copies what fits (a datagram longer than <paramref name="destination"/> is cut, as UDP would) and returns the buffer.</summary>
    public int CopyToAndReturn(Span<byte> destination)
    {
        int length = Math.Min(Length, destination.Length);
        _buffer.AsSpan(0, length).CopyTo(destination);
        Return();
        return length;
    }

    /// <summary>Zeroes the data and gives the buffer back to the pool.</summary>
    public void Return()
    {
        CryptographicOperations.ZeroMemory(_buffer.AsSpan(0, Length));
        ArrayPool<byte>.Shared.Return(_buffer);
    }
}
