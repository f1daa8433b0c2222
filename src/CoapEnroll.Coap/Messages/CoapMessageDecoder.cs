using System.Buffers.Binary;

namespace CoapEnroll.Coap;

/// <summary>
/// Parses datagrams into <see cref="CoapMessage"/>s. Option values and the payload are slices of the
/// input memory, not copies: the caller hands over a buffer it will not reuse.
/// </summary>
public static class CoapMessageDecoder
{
    /// <summary>The largest option value the format can express: 269 + 65535.</summary>
    public const int MaxOptionLength = 269 + ushort.MaxValue;

    /// <summary>
    /// Reads the four fixed header bytes. Enough to answer a malformed CON with RST or to match an
    /// ACK, even when the rest of the message is broken (RFC 7252 §4.2).
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> datagram, out CoapMessageType type, out CoapCode code, out ushort messageId)
    {
        if (datagram.Length < 4 || (datagram[0] >> 6) != 1)
        {
            type = default;
            code = default;
            messageId = 0;
            return false;
        }

        type = (CoapMessageType)((datagram[0] >> 4) & 3);
        code = new CoapCode(datagram[1]);
        messageId = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        return true;
    }

    /// <summary>Validates a datagram without building a message (no allocation).</summary>
    public static CoapDecodeStatus Validate(ReadOnlySpan<byte> datagram) => Parse(datagram, default, null, out _, out _);

    /// <summary>Decodes one datagram.</summary>
    public static CoapDecodeStatus TryDecode(ReadOnlyMemory<byte> datagram, out CoapMessage? message)
    {
        message = null;
        ReadOnlySpan<byte> span = datagram.Span;
        var status = Parse(span, default, null, out int optionCount, out _);
        if (status != CoapDecodeStatus.Success)
        {
            return status;
        }

        var options = optionCount == 0 ? [] : new CoapOption[optionCount];
        Parse(span, datagram, options, out _, out int payloadOffset);

        int tokenLength = span[0] & 0x0F;
        message = new CoapMessage
        {
            Type = (CoapMessageType)((span[0] >> 4) & 3),
            Code = new CoapCode(span[1]),
            MessageId = BinaryPrimitives.ReadUInt16BigEndian(span[2..]),
            Token = datagram.Slice(4, tokenLength),
            Options = CoapOptionCollection.FromSorted(options),
            Payload = payloadOffset < 0 ? ReadOnlyMemory<byte>.Empty : datagram[payloadOffset..],
        };
        return CoapDecodeStatus.Success;
    }

    /// <summary>Decodes one datagram.</summary>
    /// <exception cref="CoapProtocolException">The datagram is not a well-formed message.</exception>
    public static CoapMessage Decode(ReadOnlyMemory<byte> datagram)
    {
        var status = TryDecode(datagram, out var message);
        return status == CoapDecodeStatus.Success
            ? message!
            : throw new CoapProtocolException(CoapError.MessageFormat, $"Malformed CoAP message: {status}.");
    }

    // One pass that either only validates and counts (options == null) or also fills the options
    // with slices of memory, which is the same bytes as data. Counting first sizes the array exactly.
    private static CoapDecodeStatus Parse(ReadOnlySpan<byte> data, ReadOnlyMemory<byte> memory, CoapOption[]? options, out int optionCount, out int payloadOffset)
    {
        optionCount = 0;
        payloadOffset = -1;
        if (data.Length < 4)
        {
            return CoapDecodeStatus.TooShort;
        }

        if ((data[0] >> 6) != 1)
        {
            return CoapDecodeStatus.UnknownVersion;
        }

        int tokenLength = data[0] & 0x0F;
        if (tokenLength > CoapMessage.MaxTokenLength)
        {
            return CoapDecodeStatus.InvalidTokenLength;
        }

        var code = new CoapCode(data[1]);
        if (code.IsReserved)
        {
            return CoapDecodeStatus.ReservedCodeClass;
        }

        if (code.IsEmpty && (tokenLength != 0 || data.Length != 4))
        {
            // RFC 7252 §4.1: an Empty message has no token and nothing after the header.
            return data.Length < 4 + tokenLength ? CoapDecodeStatus.Truncated : CoapDecodeStatus.NonEmptyEmptyMessage;
        }

        int pos = 4 + tokenLength;
        if (pos > data.Length)
        {
            return CoapDecodeStatus.Truncated;
        }

        int number = 0;
        while (pos < data.Length)
        {
            byte head = data[pos];
            if (head == 0xFF)
            {
                // RFC 7252 §3: a marker followed by a zero-length payload is a format error.
                if (pos + 1 == data.Length)
                {
                    return CoapDecodeStatus.EmptyPayloadAfterMarker;
                }

                payloadOffset = pos + 1;
                return CoapDecodeStatus.Success;
            }

            pos++;
            int delta = head >> 4;
            int length = head & 0x0F;
            if (delta == 15 || length == 15)
            {
                return CoapDecodeStatus.ReservedOptionNibble;
            }

            if (!TryReadExtended(data, ref pos, ref delta) || !TryReadExtended(data, ref pos, ref length))
            {
                return CoapDecodeStatus.Truncated;
            }

            number += delta;
            if (number > ushort.MaxValue)
            {
                return CoapDecodeStatus.OptionNumberOverflow;
            }

            if (length > data.Length - pos)
            {
                return CoapDecodeStatus.Truncated;
            }

            if (options is not null)
            {
                options[optionCount] = new CoapOption(number, memory.Slice(pos, length));
            }

            optionCount++;
            pos += length;
        }

        return CoapDecodeStatus.Success;
    }

    private static bool TryReadExtended(ReadOnlySpan<byte> data, ref int pos, ref int nibble)
    {
        // RFC 7252 §3.1: 13 → one extra byte minus 13, 14 → two extra bytes minus 269.
        if (nibble == 13)
        {
            if (pos + 1 > data.Length)
            {
                return false;
            }

            nibble = data[pos] + 13;
            pos += 1;
        }
        else if (nibble == 14)
        {
            if (pos + 2 > data.Length)
            {
                return false;
            }

            nibble = BinaryPrimitives.ReadUInt16BigEndian(data[pos..]) + 269;
            pos += 2;
        }

        return true;
    }
}
