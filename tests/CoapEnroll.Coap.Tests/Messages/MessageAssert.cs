using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Messages;

/// <summary>
/// Field-by-field message comparison: the record's generated equality compares the Token and Payload
/// memories and the option collection by reference, which says nothing about their contents.
/// </summary>
internal static class MessageAssert
{
    public static void Equal(CoapMessage expected, CoapMessage actual)
    {
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Code, actual.Code);
        Assert.Equal(expected.MessageId, actual.MessageId);
        Assert.Equal(expected.Token.ToArray(), actual.Token.ToArray());
        Assert.Equal(expected.Options.Count, actual.Options.Count);
        for (int i = 0; i < expected.Options.Count; i++)
        {
            Assert.Equal(expected.Options[i].Number, actual.Options[i].Number);
            Assert.Equal(expected.Options[i].Value.ToArray(), actual.Options[i].Value.ToArray());
        }

        Assert.Equal(expected.Payload.ToArray(), actual.Payload.ToArray());
    }

    public static bool AreEqual(CoapMessage a, CoapMessage b)
        => a.Type == b.Type
            && a.Code == b.Code
            && a.MessageId == b.MessageId
            && a.Token.Span.SequenceEqual(b.Token.Span)
            && a.Options.Count == b.Options.Count
            && a.Options.AsSpan().SequenceEqual(b.Options.AsSpan())
            && a.Payload.Span.SequenceEqual(b.Payload.Span);

    public static CoapMessage Decode(byte[] bytes)
    {
        var status = CoapMessageDecoder.TryDecode(bytes, out var message);
        Assert.Equal(CoapDecodeStatus.Success, status);
        Assert.NotNull(message);
        return message;
    }

    /// <summary>Encodes, decodes, and checks the decoded copy equals the original and re-encodes to the same bytes.</summary>
    public static byte[] RoundTrip(CoapMessage message)
    {
        byte[] bytes = CoapMessageEncoder.Encode(message);
        Assert.Equal(CoapMessageEncoder.GetEncodedLength(message), bytes.Length);
        Assert.Equal(CoapDecodeStatus.Success, CoapMessageDecoder.Validate(bytes));
        CoapMessage decoded = Decode(bytes);
        Equal(message, decoded);
        Assert.Equal(bytes, CoapMessageEncoder.Encode(decoded));
        return bytes;
    }

    public static byte[] Filled(int length, byte seed)
    {
        var bytes = new byte[length];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(seed + (i * 7));
        }

        return bytes;
    }
}
