using System.Text;
using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Messages;

public class CoapMessageCodecTests
{
    // RFC 7252 Appendix A, Figure 16: CON GET coap://server/temperature, MID 0x7d34, empty token.
    private static readonly byte[] s_figure16Request = [0x40, 0x01, 0x7D, 0x34, 0xBB, .. "temperature"u8];

    // Figure 16: the piggybacked 2.05 response with payload "22.3 C".
    private static readonly byte[] s_figure16Response = [0x60, 0x45, 0x7D, 0x34, 0xFF, .. "22.3 C"u8];

    // Figure 17: the same exchange with token 0x20 and MID 0x7d35.
    private static readonly byte[] s_figure17Request = [0x41, 0x01, 0x7D, 0x35, 0x20, 0xBB, .. "temperature"u8];

    private static readonly byte[] s_figure17Response = [0x61, 0x45, 0x7D, 0x35, 0x20, 0xFF, .. "22.3 C"u8];

    [Fact]
    public void Figure16_Request_EncodesToTheRfcBytes()
    {
        var request = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Get, MessageId = 0x7D34 }
            .WithUriPath("temperature");

        byte[] bytes = CoapMessageEncoder.Encode(request);

        Assert.Equal(16, bytes.Length);
        Assert.Equal(s_figure16Request, bytes);
    }

    [Fact]
    public void Figure16_Response_EncodesToTheRfcBytes()
    {
        var response = new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Content, MessageId = 0x7D34 }
            .WithPayload("22.3 C");

        byte[] bytes = CoapMessageEncoder.Encode(response);

        Assert.Equal(11, bytes.Length);
        Assert.Equal(s_figure16Response, bytes);
    }

    [Fact]
    public void Figure17_EncodesToTheRfcBytes()
    {
        byte[] token = [0x20];
        var request = new CoapMessage { Code = CoapCode.Get, MessageId = 0x7D35, Token = token }.WithUriPath("temperature");
        var response = new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Content, MessageId = 0x7D35, Token = token }
            .WithPayload("22.3 C");

        Assert.Equal(s_figure17Request, CoapMessageEncoder.Encode(request));
        Assert.Equal(s_figure17Response, CoapMessageEncoder.Encode(response));
    }

    [Fact]
    public void Figure17_DecodesToTheDescribedFields()
    {
        CoapMessage request = MessageAssert.Decode(s_figure17Request);
        Assert.Equal(CoapMessageType.Confirmable, request.Type);
        Assert.Equal(CoapCode.Get, request.Code);
        Assert.Equal(0x7D35, request.MessageId);
        Assert.Equal([0x20], request.Token.ToArray());
        Assert.Equal(["temperature"], request.UriPathSegments);
        Assert.True(request.Payload.IsEmpty);

        CoapMessage response = MessageAssert.Decode(s_figure17Response);
        Assert.Equal(CoapMessageType.Acknowledgement, response.Type);
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Empty(response.Options);
        Assert.Equal("22.3 C", response.PayloadText);
    }

    [Fact]
    public void HandWrittenVector_WithOneAndTwoByteExtendedDeltaAndLength()
    {
        // Worked out by hand from RFC 7252 §3.1:
        //   Uri-Host (3), 13-byte value: delta 3, length nibble 13 + ext 0x00.
        //   Uri-Path (11), 269-byte value: delta 8, length nibble 14 + ext 0x0000.
        //   Size1 (60), value 0x10: delta 49 → nibble 13 + ext 36 (0x24), length 1.
        //   Option 65535, empty: delta 65475 → nibble 14 + ext 65475 - 269 = 0xFEB6, length 0.
        byte[] path = MessageAssert.Filled(269, 0x30);
        var message = new CoapMessage { Type = CoapMessageType.NonConfirmable, Code = CoapCode.Post, MessageId = 0xBEEF, Token = new byte[] { 0xAB, 0xCD } }
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriHost, "example.local"))
            .WithOption(new CoapOption(CoapOptionNumber.UriPath, path))
            .WithOption(CoapOption.FromUInt(CoapOptionNumber.Size1, 0x10))
            .WithOption(CoapOption.Empty(65535))
            .WithPayload("x");

        byte[] expected =
        [
            0x52, 0x02, 0xBE, 0xEF, 0xAB, 0xCD,
            0x3D, 0x00, .. "example.local"u8,
            0x8E, 0x00, 0x00, .. path,
            0xD1, 0x24, 0x10,
            0xE0, 0xFE, 0xB6,
            0xFF, (byte)'x',
        ];

        Assert.Equal(expected, CoapMessageEncoder.Encode(message));
        MessageAssert.Equal(message, MessageAssert.Decode(expected));
    }

    public static TheoryData<CoapMessageType, int> TypesAndTokenLengths()
    {
        var data = new TheoryData<CoapMessageType, int>();
        foreach (var type in Enum.GetValues<CoapMessageType>())
        {
            for (int tkl = 0; tkl <= CoapMessage.MaxTokenLength; tkl++)
            {
                data.Add(type, tkl);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TypesAndTokenLengths))]
    public void RoundTrips_EveryTypeAndTokenLength(CoapMessageType type, int tokenLength)
    {
        var message = new CoapMessage
        {
            Type = type,
            Code = type == CoapMessageType.Acknowledgement ? CoapCode.Content : CoapCode.Put,
            MessageId = (ushort)(0xF00D + tokenLength),
            Token = MessageAssert.Filled(tokenLength, 0xE1),
        }
        .WithUriPath("/a/b")
        .WithContentFormat(CoapContentFormat.Cbor)
        .WithPayload(new byte[] { 0, 1, 2, 0xFF });

        byte[] bytes = MessageAssert.RoundTrip(message);
        Assert.Equal(0x40 | ((int)type << 4) | tokenLength, bytes[0]);
    }

    [Theory]
    [InlineData(CoapMessageType.Confirmable)]
    [InlineData(CoapMessageType.Acknowledgement)]
    [InlineData(CoapMessageType.Reset)]
    public void RoundTrips_EmptyMessages(CoapMessageType type)
    {
        byte[] bytes = MessageAssert.RoundTrip(CoapMessage.CreateEmpty(type, 0x0102));
        Assert.Equal(4, bytes.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(268)]
    [InlineData(269)]
    [InlineData(270)]
    [InlineData(1000)]
    [InlineData(CoapMessageDecoder.MaxOptionLength)]
    public void RoundTrips_OptionValueLengths(int length)
    {
        // An unregistered elective option so that no length bound is implied.
        var message = new CoapMessage { Code = CoapCode.Post, MessageId = 7 }
            .WithOption(new CoapOption(2048, MessageAssert.Filled(length, 3)))
            .WithOption(new CoapOption(2050, MessageAssert.Filled(length, 9)))
            .WithPayload("after");

        byte[] bytes = MessageAssert.RoundTrip(message);

        // Header, then each option's head byte, extended delta (two bytes for 2048, none for +2),
        // extended length and value, then the marker and "after".
        int ext = length < 13 ? 0 : length < 269 ? 1 : 2;
        Assert.Equal(4 + (1 + 2 + ext + length) + (1 + 0 + ext + length) + 1 + 5, bytes.Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(14)]
    [InlineData(268)]
    [InlineData(269)]
    [InlineData(270)]
    [InlineData(65535)]
    public void RoundTrips_OptionNumbersNeedingEachDeltaForm(int number)
    {
        var message = new CoapMessage { Code = CoapCode.Get, MessageId = 1 }
            .WithOption(new CoapOption(number, new byte[] { 0x42 }));

        byte[] bytes = MessageAssert.RoundTrip(message);

        int extension = number < 13 ? 0 : number < 269 ? 1 : 2;
        Assert.Equal(4 + 1 + extension + 1, bytes.Length);
    }

    [Fact]
    public void RoundTrips_Option65535AfterALowerOption()
    {
        var message = new CoapMessage { Code = CoapCode.Get }
            .WithOption(new CoapOption(65535, "z"u8.ToArray()))
            .WithOption(new CoapOption(65534, "y"u8.ToArray()))
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriPath, "p"));

        MessageAssert.RoundTrip(message);
        Assert.Equal([11, 65534, 65535], message.Options.Select(o => o.Number));
    }

    [Fact]
    public void RoundTrips_RepeatedOptionsInInsertionOrder()
    {
        var message = new CoapMessage { Code = CoapCode.Get, MessageId = 99 }
            .WithUriQuery("z=1")
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriPath, "zeta"))
            .WithUriQuery("a=2")
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriPath, "alpha"))
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriPath, ""))
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriPath, "mid"))
            .WithOption(new CoapOption(CoapOptionNumber.ETag, new byte[] { 2 }))
            .WithOption(new CoapOption(CoapOptionNumber.ETag, new byte[] { 1 }));

        MessageAssert.RoundTrip(message);
        CoapMessage decoded = MessageAssert.Decode(CoapMessageEncoder.Encode(message));

        Assert.Equal(["zeta", "alpha", "", "mid"], decoded.UriPathSegments);
        Assert.Equal(["z=1", "a=2"], decoded.UriQuery);
        Assert.Equal([new byte[] { 2 }, new byte[] { 1 }], decoded.Options.GetAll(CoapOptionNumber.ETag).Select(o => o.Value.ToArray()));
    }

    [Fact]
    public void Create_SortsStablyAndKeepsRepeatedOptionsInOrder()
    {
        var options = CoapOptionCollection.Create(
        [
            CoapOption.FromString(CoapOptionNumber.UriQuery, "q1"),
            CoapOption.FromString(CoapOptionNumber.UriPath, "b"),
            CoapOption.FromString(CoapOptionNumber.UriHost, "h"),
            CoapOption.FromString(CoapOptionNumber.UriPath, "a"),
            CoapOption.FromString(CoapOptionNumber.UriQuery, "q0"),
        ]);

        Assert.Equal(["h", "b", "a", "q1", "q0"], options.Select(o => o.GetString()));
        MessageAssert.RoundTrip(new CoapMessage { Code = CoapCode.Get, Options = options });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    [InlineData(1024)]
    [InlineData(60000)]
    public void RoundTrips_Payloads(int length)
    {
        var message = new CoapMessage { Type = CoapMessageType.NonConfirmable, Code = CoapCode.Content, MessageId = 3, Token = new byte[] { 1, 2, 3 } }
            .WithOption(CoapOption.FromUInt(CoapOptionNumber.MaxAge, 60))
            .WithPayload(MessageAssert.Filled(length, 0xFF));

        byte[] bytes = MessageAssert.RoundTrip(message);

        // Header, token, Max-Age (delta 14 needs the one-byte extension, then one value byte), marker.
        Assert.Equal(0xFF, bytes[4 + 3 + 3]);
        Assert.Equal(4 + 3 + 3 + 1 + length, bytes.Length);
    }

    [Fact]
    public void RoundTrips_PayloadOfOnlyMarkerBytes()
    {
        var message = new CoapMessage { Code = CoapCode.Content }.WithPayload(new byte[] { 0xFF, 0xFF });
        byte[] bytes = MessageAssert.RoundTrip(message);
        Assert.Equal([0x40, 0x45, 0, 0, 0xFF, 0xFF, 0xFF], bytes);
    }

    [Fact]
    public void RoundTrips_Utf8StringOptions()
    {
        var message = CoapMessage.CreateRequest(CoapCode.Get, "/こんにちは/ü")
            .WithUriQuery("q=ä&b");

        MessageAssert.RoundTrip(message);
        Assert.Equal(Encoding.UTF8.GetBytes("こんにちは"), message.Options[0].Value.ToArray());
    }

    [Fact]
    public void TryEncode_ReportsADestinationTooSmall()
    {
        var message = CoapMessage.CreateRequest(CoapCode.Get, "/a").WithPayload("hi");
        int length = CoapMessageEncoder.GetEncodedLength(message);

        Assert.False(CoapMessageEncoder.TryEncode(message, new byte[length - 1], out int written));
        Assert.Equal(0, written);
        Assert.True(CoapMessageEncoder.TryEncode(message, new byte[length + 5], out written));
        Assert.Equal(length, written);
    }

    [Fact]
    public void Decode_SlicesTheInputInsteadOfCopying()
    {
        byte[] bytes = (byte[])s_figure17Request.Clone();
        CoapMessage message = MessageAssert.Decode(bytes);

        bytes[^1] = (byte)'X';

        Assert.Equal("temperaturX", message.UriPath);
    }

    [Fact]
    public void TypeOutsideTheTwoBitField_IsRejectedRatherThanCorruptingTheVersion()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoapMessage { Type = (CoapMessageType)4 });
    }

    [Fact]
    public void TokenLongerThanEightBytes_IsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoapMessage { Token = new byte[9] });
    }
}
