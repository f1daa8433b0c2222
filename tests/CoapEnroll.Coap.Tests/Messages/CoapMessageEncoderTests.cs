namespace CoapEnroll.Coap.Tests.Messages;

public class CoapMessageEncoderTests
{
    public static TheoryData<int, int> TokenLengths => new() { { 0, 0 }, { 0, 8 }, { 4, 2 }, { 8, 0 }, { 3, 3 } };

    // The endpoint encodes replies with the request's type, message ID and token without copying the response.
    [Theory]
    [MemberData(nameof(TokenLengths))]
    public void Encode_WithHeaderFields_IsEncodeOfTheCopyWithThem(int responseTokenLength, int replyTokenLength)
    {
        byte[] replyToken = [.. Enumerable.Range(1, replyTokenLength).Select(i => (byte)i)];
        var response = new CoapMessage { Code = CoapCode.Content, MessageId = 99, Token = new byte[responseTokenLength] }
            .WithContentFormat(CoapContentFormat.Json).SetUInt(CoapOptionNumber.MaxAge, 70000).WithPayload("{}");

        foreach (var type in new[] { CoapMessageType.Acknowledgement, CoapMessageType.NonConfirmable, CoapMessageType.Confirmable })
        {
            byte[] expected = CoapMessageEncoder.Encode(response with { Type = type, MessageId = 0xABCD, Token = replyToken });
            Assert.Equal(expected, CoapMessageEncoder.Encode(response, type, 0xABCD, replyToken));
        }

        Assert.Equal(CoapMessageEncoder.Encode(new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Changed, MessageId = 1 }),
            CoapMessageEncoder.Encode(new CoapMessage { Code = CoapCode.Changed }, CoapMessageType.Acknowledgement, 1, []));
    }

    [Fact]
    public void Encode_WithHeaderFields_RejectsWhatTheMessageWouldReject()
    {
        var response = new CoapMessage { Code = CoapCode.Content };
        Assert.Throws<ArgumentOutOfRangeException>(() => CoapMessageEncoder.Encode(response, CoapMessageType.Acknowledgement, 1, new byte[9]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CoapMessageEncoder.Encode(response, (CoapMessageType)4, 1, []));
    }
}
