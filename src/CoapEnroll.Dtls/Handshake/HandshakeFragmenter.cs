namespace CoapEnroll.Dtls;

/// <summary>
/// Splits an outgoing handshake message into DTLS fragments (RFC 6347 §4.2.3) no larger than a given
/// fragment payload size, e.g. PMTU - IP/UDP - record header/expansion - 12. Each output is
/// header + fragment, ready to be the payload of one handshake record (or packed several per record).
/// </summary>
internal static class HandshakeFragmenter
{
    /// <summary>Total length of all fragments for a body of <paramref name="bodyLength"/> bytes.</summary>
    public static int GetFragmentCount(int bodyLength, int maxFragmentLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFragmentLength, 1);
        return bodyLength == 0 ? 1 : (bodyLength + maxFragmentLength - 1) / maxFragmentLength;
    }

    /// <summary>
    /// Writes the fragment of <paramref name="body"/> at [<paramref name="offset"/>, offset + length) with its
    /// header into <paramref name="destination"/>. Returns bytes written (12 + length).
    /// </summary>
    public static int WriteFragment(Span<byte> destination, HandshakeType type, ushort messageSeq, ReadOnlySpan<byte> body, int offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > body.Length || body.Length > HandshakeHeader.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        new HandshakeHeader(type, body.Length, messageSeq, offset, length).WriteTo(destination);
        body.Slice(offset, length).CopyTo(destination[HandshakeHeader.Size..]);
        return HandshakeHeader.Size + length;
    }

    /// <summary>Fragments a whole message; an empty body (ServerHelloDone) yields one fragment of length 0.</summary>
    public static List<byte[]> Fragment(HandshakeType type, ushort messageSeq, ReadOnlySpan<byte> body, int maxFragmentLength)
    {
        int count = GetFragmentCount(body.Length, maxFragmentLength);
        var result = new List<byte[]>(count);
        for (int offset = 0, i = 0; i < count; i++, offset += maxFragmentLength)
        {
            int length = Math.Min(maxFragmentLength, body.Length - offset);
            byte[] fragment = new byte[HandshakeHeader.Size + length];
            WriteFragment(fragment, type, messageSeq, body, offset, length);
            result.Add(fragment);
        }

        return result;
    }
}
