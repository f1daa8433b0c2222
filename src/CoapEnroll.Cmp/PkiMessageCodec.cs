using System.Formats.Asn1;
using System.Security.Cryptography;

namespace CoapEnroll.Cmp;

/// <summary>Strict DER decoding and encoding of PKIMessages; decoding never throws on bad input, it returns a status and a reason.</summary>
public static class PkiMessageCodec
{
    /// <summary>The default largest accepted message, in bytes.</summary>
    public const int DefaultMaxSize = 256 * 1024;

    /// <summary>The default deepest accepted nesting of constructed values.</summary>
    public const int DefaultMaxDepth = 32;

    /// <summary>Decodes one DER PKIMessage; the input is copied, so the message owns its bytes.</summary>
    public static CmpDecodeResult Decode(ReadOnlySpan<byte> der, int maxSize = DefaultMaxSize, int maxDepth = DefaultMaxDepth)
    {
        if (der.Length > maxSize)
        {
            return CmpDecodeResult.Fail(CmpDecodeStatus.TooLarge, $"message of {der.Length} bytes exceeds the limit of {maxSize}");
        }

        byte[] copy = der.ToArray();
        try
        {
            int consumed = CheckStructure(copy, 1, maxDepth);
            if (consumed != copy.Length)
            {
                return CmpDecodeResult.Fail(CmpDecodeStatus.TrailingData, $"{copy.Length - consumed} bytes follow the PKIMessage");
            }

            var reader = new AsnReader(copy, CmpDer.Rules);
            PkiMessage message = PkiMessage.Read(reader);
            reader.ThrowIfNotEmpty();
            if (!Encode(message).AsSpan().SequenceEqual(copy))
            {
                return CmpDecodeResult.Fail(CmpDecodeStatus.Malformed, "the message is not in canonical DER");
            }

            return CmpDecodeResult.Ok(message);
        }
        catch (CmpDecodeException e)
        {
            return CmpDecodeResult.Fail(e.Status, e.Message);
        }
        catch (AsnContentException e)
        {
            return CmpDecodeResult.Fail(CmpDecodeStatus.Malformed, e.Message);
        }
        catch (CryptographicException e)
        {
            return CmpDecodeResult.Fail(CmpDecodeStatus.Malformed, e.Message);
        }
        catch (ArgumentException e)
        {
            return CmpDecodeResult.Fail(CmpDecodeStatus.Malformed, e.Message);
        }
    }

    /// <summary>Encodes a message in DER.</summary>
    public static byte[] Encode(PkiMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var writer = new AsnWriter(CmpDer.Rules);
        message.WriteTo(writer);
        return writer.Encode();
    }

    /// <summary>Walks the TLV tree of the first value: every length checked, constructed values no deeper than the limit.</summary>
    private static int CheckStructure(ReadOnlySpan<byte> data, int depth, int maxDepth)
    {
        if (depth > maxDepth)
        {
            throw new CmpDecodeException(CmpDecodeStatus.TooDeep, $"constructed values nested deeper than {maxDepth}");
        }

        Asn1Tag tag = Asn1Tag.Decode(data, out _);
        AsnDecoder.ReadEncodedValue(data, CmpDer.Rules, out int contentOffset, out int contentLength, out int consumed);
        if (tag.IsConstructed)
        {
            ReadOnlySpan<byte> content = data.Slice(contentOffset, contentLength);
            while (!content.IsEmpty)
            {
                content = content[CheckStructure(content, depth + 1, maxDepth)..];
            }
        }

        return consumed;
    }
}
