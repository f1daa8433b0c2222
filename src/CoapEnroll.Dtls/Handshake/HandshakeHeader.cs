namespace CoapEnroll.Dtls;

/// <summary>
/// The 12-byte DTLS handshake header (RFC 6347 §4.2.2):
/// msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3).
/// </summary>
internal readonly record struct HandshakeHeader(HandshakeType Type, int Length, ushort MessageSeq, int FragmentOffset, int FragmentLength)
{
    /// <summary>Header length.</summary>
    public const int Size = 12;

    /// <summary>Largest value of a 24-bit length field.</summary>
    public const int MaxLength = 0xFFFFFF;

    /// <summary>True when the fragment is the whole message.</summary>
    public bool IsComplete => FragmentOffset == 0 && FragmentLength == Length;

    /// <summary>
    /// Reads one handshake fragment (header + fragment bytes) from the start of a handshake record payload.
    /// False if truncated or if fragment_offset + fragment_length exceeds length. A record may hold several
    /// fragments: continue at <paramref name="bytesConsumed"/>.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out HandshakeHeader header, out ReadOnlySpan<byte> fragment, out int bytesConsumed)
    {
        header = default;
        fragment = default;
        bytesConsumed = 0;
        var reader = new TlsReader(data);
        if (!reader.TryReadUInt8(out byte type) || !reader.TryReadUInt24(out int length) || !reader.TryReadUInt16(out ushort seq) ||
            !reader.TryReadUInt24(out int offset) || !reader.TryReadUInt24(out int fragmentLength))
        {
            return false;
        }

        if ((long)offset + fragmentLength > length || !reader.TryReadBytes(fragmentLength, out fragment))
        {
            fragment = default;
            return false;
        }

        header = new HandshakeHeader((HandshakeType)type, length, seq, offset, fragmentLength);
        bytesConsumed = Size + fragmentLength;
        return true;
    }

    /// <summary>Writes the 12 header bytes.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException("Destination too small.", nameof(destination));
        }

        if ((uint)Length > MaxLength || (uint)FragmentOffset > MaxLength || (uint)FragmentLength > MaxLength)
        {
            throw new InvalidOperationException("Handshake length fields are 24-bit.");
        }

        destination[0] = (byte)Type;
        Write24(destination[1..], Length);
        destination[4] = (byte)(MessageSeq >> 8);
        destination[5] = (byte)MessageSeq;
        Write24(destination[6..], FragmentOffset);
        Write24(destination[9..], FragmentLength);
    }

    private static void Write24(Span<byte> d, int v)
    {
        d[0] = (byte)(v >> 16);
        d[1] = (byte)(v >> 8);
        d[2] = (byte)v;
    }
}
