using System.Buffers.Binary;

namespace CoapEnroll.Coap;

/// <summary>Serializes <see cref="CoapMessage"/>s to the RFC 7252 §3 wire format.</summary>
public static class CoapMessageEncoder
{
    /// <summary>The exact number of bytes <see cref="TryEncode"/> writes.</summary>
    public static int GetEncodedLength(CoapMessage message)
    {
        int length = 4 + message.Token.Length + GetOptionsLength(message.Options);
        if (!message.Payload.IsEmpty)
        {
            length += 1 + message.Payload.Length;
        }

        return length;
    }

    /// <summary>The bytes the options take on the wire.</summary>
    internal static int GetOptionsLength(CoapOptionCollection options)
    {
        int length = 0;
        int previous = 0;
        foreach (var option in options.AsSpan())
        {
            length += 1 + ExtendedLength(option.Number - previous) + ExtendedLength(option.Value.Length) + option.Value.Length;
            previous = option.Number;
        }

        return length;
    }

    /// <summary>Writes the message; false when <paramref name="destination"/> is too small.</summary>
    public static bool TryEncode(CoapMessage message, Span<byte> destination, out int bytesWritten)
        => EncodeCore(message, message.Type, message.MessageId, message.Token.Span, destination, out bytesWritten);

    /// <summary>
    /// Encodes <paramref name="message"/> with another type, message ID and token, into a new array of exactly the
    /// encoded length: what <c>Encode(message with { Type, MessageId, Token })</c> gives, without that copy.
    /// </summary>
    internal static byte[] Encode(CoapMessage message, CoapMessageType type, ushort messageId, ReadOnlySpan<byte> token)
    {
        // The same checks as CoapMessage's init accessors.
        ArgumentOutOfRangeException.ThrowIfGreaterThan((int)type, (int)CoapMessageType.Reset, nameof(type));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(token.Length, CoapMessage.MaxTokenLength, nameof(token));
        var buffer = new byte[GetEncodedLength(message) - message.Token.Length + token.Length];
        EncodeCore(message, type, messageId, token, buffer, out _);
        return buffer;
    }

    private static bool EncodeCore(CoapMessage message, CoapMessageType type, ushort messageId, ReadOnlySpan<byte> token, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        int length = GetEncodedLength(message) - message.Token.Length + token.Length;
        if (destination.Length < length)
        {
            return false;
        }

        destination[0] = (byte)(0x40 | ((int)type << 4) | token.Length);
        destination[1] = message.Code.Value;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], messageId);
        token.CopyTo(destination[4..]);
        int pos = 4 + token.Length;

        int previous = 0;
        foreach (var option in message.Options.AsSpan())
        {
            int delta = option.Number - previous;
            int valueLength = option.Value.Length;
            int headPos = pos++;
            destination[headPos] = (byte)((Nibble(delta) << 4) | Nibble(valueLength));
            WriteExtended(destination, ref pos, delta);
            WriteExtended(destination, ref pos, valueLength);
            option.Value.Span.CopyTo(destination[pos..]);
            pos += valueLength;
            previous = option.Number;
        }

        if (!message.Payload.IsEmpty)
        {
            destination[pos++] = 0xFF;
            message.Payload.Span.CopyTo(destination[pos..]);
            pos += message.Payload.Length;
        }

        System.Diagnostics.Debug.Assert(pos == length, "GetEncodedLength and TryEncode disagree.");
        bytesWritten = pos;
        return true;
    }

    /// <summary>Encodes into a new array of exactly the encoded length.</summary>
    public static byte[] Encode(CoapMessage message)
    {
        var buffer = new byte[GetEncodedLength(message)];
        TryEncode(message, buffer, out _);
        return buffer;
    }

    private static int Nibble(int value) => value < 13 ? value : value < 269 ? 13 : 14;

    private static int ExtendedLength(int value) => value < 13 ? 0 : value < 269 ? 1 : 2;

    private static void WriteExtended(Span<byte> destination, ref int pos, int value)
    {
        if (value >= 269)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[pos..], (ushort)(value - 269));
            pos += 2;
        }
        else if (value >= 13)
        {
            destination[pos++] = (byte)(value - 13);
        }
    }
}
