using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Messages;

public class CoapMessageDecoderMalformedTests
{
    public static TheoryData<string> ValidMessages()
    {
        var data = new TheoryData<string>();
        foreach (CoapMessage m in SampleMessages())
        {
            data.Add(Convert.ToHexString(CoapMessageEncoder.Encode(m)));
        }

        return data;
    }

    internal static IEnumerable<CoapMessage> SampleMessages()
    {
        yield return CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, 0x1234);
        yield return new CoapMessage { Code = CoapCode.Get, MessageId = 0x7D34 }.WithUriPath("temperature");
        yield return new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Content, MessageId = 1, Token = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 } }
            .WithContentFormat(CoapContentFormat.LinkFormat)
            .WithBlock2(new BlockOption(3, true, 2))
            .WithPayload("</a>;rt=\"x\"");
        yield return new CoapMessage { Type = CoapMessageType.NonConfirmable, Code = CoapCode.Post, MessageId = 0xFFFF, Token = new byte[] { 9 } }
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriHost, "example.local"))
            .WithUriPath("/.well-known/est/simpleenroll")
            .WithOption(new CoapOption(CoapOptionNumber.UriQuery, MessageAssert.Filled(270, 0x41)))
            .WithOption(CoapOption.FromUInt(CoapOptionNumber.Size1, 70000))
            .WithOption(new CoapOption(65535, new byte[] { 0xFF }))
            .WithPayload(MessageAssert.Filled(20, 0));
    }

    /// <summary>
    /// Every proper prefix of a valid message is either another, different, well-formed message (the
    /// cut fell between two options) or a failure status; the decoder never throws.
    /// </summary>
    [Theory]
    [MemberData(nameof(ValidMessages))]
    public void EveryTruncation_DecodesToADifferentMessageOrFails(string hex)
    {
        byte[] full = Convert.FromHexString(hex);
        CoapMessage original = MessageAssert.Decode(full);
        int successes = 0;

        for (int length = 0; length < full.Length; length++)
        {
            byte[] prefix = full[..length];
            CoapMessage? message = null;
            CoapDecodeStatus status = default;

            Exception? thrown = Record.Exception(() => status = CoapMessageDecoder.TryDecode(prefix, out message));

            Assert.Null(thrown);
            Assert.Equal(status, CoapMessageDecoder.Validate(prefix));
            if (status == CoapDecodeStatus.Success)
            {
                successes++;
                Assert.NotNull(message);
                Assert.False(MessageAssert.AreEqual(original, message), $"Prefix of {length} bytes decoded to the original message.");
                Assert.Equal(prefix, CoapMessageEncoder.Encode(message));
            }
            else
            {
                Assert.Null(message);
                Assert.Throws<CoapProtocolException>(() => CoapMessageDecoder.Decode(prefix));
            }
        }

        Assert.Equal(CoapDecodeStatus.Success, CoapMessageDecoder.TryDecode(full, out _));
        Assert.True(successes < full.Length);
    }

    [Fact]
    public void Truncations_ReportTheRightStatus()
    {
        byte[] full = CoapMessageEncoder.Encode(
            new CoapMessage { Code = CoapCode.Get, Token = new byte[] { 1, 2 } }
                .WithOption(new CoapOption(CoapOptionNumber.UriPath, MessageAssert.Filled(300, 1))));

        Assert.Equal(CoapDecodeStatus.TooShort, CoapMessageDecoder.TryDecode(full.AsMemory(..3), out _));
        Assert.Equal(CoapDecodeStatus.Truncated, CoapMessageDecoder.TryDecode(full.AsMemory(..5), out _)); // inside the token
        Assert.Equal(CoapDecodeStatus.Success, CoapMessageDecoder.TryDecode(full.AsMemory(..6), out _)); // token only
        Assert.Equal(CoapDecodeStatus.Truncated, CoapMessageDecoder.TryDecode(full.AsMemory(..7), out _)); // option head, no extended length
        Assert.Equal(CoapDecodeStatus.Truncated, CoapMessageDecoder.TryDecode(full.AsMemory(..8), out _)); // half the two-byte extension
        Assert.Equal(CoapDecodeStatus.Truncated, CoapMessageDecoder.TryDecode(full.AsMemory(..^1), out _)); // inside the value
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void FewerThanFourBytes_AreTooShort(int length)
    {
        Assert.Equal(CoapDecodeStatus.TooShort, CoapMessageDecoder.TryDecode(new byte[] { 0x40, 0x01, 0x00 }.AsMemory(0, Math.Min(length, 3)), out var m));
        Assert.Null(m);
        Assert.False(CoapMessageDecoder.TryReadHeader(new byte[length], out _, out _, out _));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x80)]
    [InlineData(0xC0)]
    [InlineData(0xF0)]
    public void VersionOtherThanOne_IsRejected(byte first)
    {
        byte[] bytes = [first, 0x01, 0x00, 0x01];
        Assert.Equal(CoapDecodeStatus.UnknownVersion, CoapMessageDecoder.TryDecode(bytes, out _));
        Assert.False(CoapMessageDecoder.TryReadHeader(bytes, out _, out _, out _));
        var ex = Assert.Throws<CoapProtocolException>(() => CoapMessageDecoder.Decode(bytes));
        Assert.Equal(CoapError.MessageFormat, ex.Error);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(12)]
    [InlineData(15)]
    public void TokenLength9To15_IsRejected(int tkl)
    {
        byte[] bytes = new byte[4 + 15];
        bytes[0] = (byte)(0x40 | tkl);
        bytes[1] = 0x01;
        Assert.Equal(CoapDecodeStatus.InvalidTokenLength, CoapMessageDecoder.TryDecode(bytes, out _));

        // The header is still readable, so that a CON can be answered with RST (RFC 7252 §4.2).
        Assert.True(CoapMessageDecoder.TryReadHeader(bytes, out var type, out var code, out _));
        Assert.Equal(CoapMessageType.Confirmable, type);
        Assert.Equal(CoapCode.Get, code);
    }

    [Theory]
    [InlineData(new byte[] { 0xF0 })] // delta 15, length 0: not the marker
    [InlineData(new byte[] { 0xF1, 0x00 })]
    [InlineData(new byte[] { 0x0F })] // length 15
    [InlineData(new byte[] { 0xBF, 0x00 })]
    [InlineData(new byte[] { 0xB1, 0x61, 0x1F })] // a valid option, then length 15
    [InlineData(new byte[] { 0xB1, 0x61, 0xF5 })] // a valid option, then delta 15
    public void ReservedNibble15_IsRejected(byte[] options)
    {
        byte[] bytes = [0x40, 0x01, 0x00, 0x00, .. options];
        Assert.Equal(CoapDecodeStatus.ReservedOptionNibble, CoapMessageDecoder.TryDecode(bytes, out _));
    }

    [Theory]
    [InlineData(new byte[] { 0xE0, 0xFF, 0xFF })] // one option of number 269 + 65535
    [InlineData(new byte[] { 0xE0, 0xFE, 0xF2, 0x10 })] // 65535, then delta 1
    [InlineData(new byte[] { 0xE0, 0xFE, 0xF2, 0xD0, 0x00 })] // 65535, then delta 13
    [InlineData(new byte[] { 0xE0, 0xFE, 0xF1, 0x20 })] // 65534, then delta 2
    public void OptionNumberBeyond65535_IsRejected(byte[] options)
    {
        byte[] bytes = [0x40, 0x01, 0x00, 0x00, .. options];
        Assert.Equal(CoapDecodeStatus.OptionNumberOverflow, CoapMessageDecoder.TryDecode(bytes, out _));
    }

    [Fact]
    public void Option65535_IsTheLargestAccepted()
    {
        byte[] bytes = [0x40, 0x01, 0x00, 0x00, 0xE0, 0xFE, 0xF1, 0x10];
        CoapMessage message = MessageAssert.Decode(bytes);
        Assert.Equal([65534, 65535], message.Options.Select(o => o.Number));
    }

    [Theory]
    [InlineData(new byte[] { 0x40, 0x45, 0x00, 0x00, 0xFF })]
    [InlineData(new byte[] { 0x41, 0x45, 0x00, 0x00, 0x07, 0xFF })]
    [InlineData(new byte[] { 0x40, 0x45, 0x00, 0x00, 0xC1, 0x28, 0xFF })]
    public void PayloadMarkerWithoutPayload_IsRejected(byte[] bytes)
    {
        Assert.Equal(CoapDecodeStatus.EmptyPayloadAfterMarker, CoapMessageDecoder.TryDecode(bytes, out _));
    }

    [Theory]
    [InlineData(new byte[] { 0x41, 0x00, 0x00, 0x01, 0x07 })] // a token
    [InlineData(new byte[] { 0x60, 0x00, 0x00, 0x01, 0xB1, 0x61 })] // an option
    [InlineData(new byte[] { 0x70, 0x00, 0x00, 0x01, 0xFF, 0x61 })] // a payload
    [InlineData(new byte[] { 0x40, 0x00, 0x00, 0x01, 0x00 })] // one stray byte
    public void EmptyMessageWithAnythingAfterTheHeader_IsRejected(byte[] bytes)
    {
        Assert.Equal(CoapDecodeStatus.NonEmptyEmptyMessage, CoapMessageDecoder.TryDecode(bytes, out _));
    }

    [Fact]
    public void EmptyMessageWithTruncatedToken_IsTruncated()
    {
        Assert.Equal(CoapDecodeStatus.Truncated, CoapMessageDecoder.TryDecode(new byte[] { 0x42, 0x00, 0x00, 0x01, 0x07 }, out _));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(1, 5)]
    [InlineData(6, 0)]
    [InlineData(6, 31)]
    [InlineData(7, 0)]
    [InlineData(7, 31)]
    public void ReservedCodeClasses_AreRejected(int codeClass, int detail)
    {
        byte[] bytes = [0x40, new CoapCode(codeClass, detail).Value, 0x00, 0x01, 0xFF, 0x61];
        Assert.Equal(CoapDecodeStatus.ReservedCodeClass, CoapMessageDecoder.TryDecode(bytes, out _));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 31)]
    [InlineData(2, 5)]
    [InlineData(3, 0)] // class 3 is unassigned but not reserved as a format error
    [InlineData(4, 4)]
    [InlineData(5, 31)]
    public void UnreservedCodeClasses_AreAccepted(int codeClass, int detail)
    {
        byte[] bytes = [0x40, new CoapCode(codeClass, detail).Value, 0x00, 0x01];
        Assert.Equal(new CoapCode(codeClass, detail), MessageAssert.Decode(bytes).Code);
    }
}
