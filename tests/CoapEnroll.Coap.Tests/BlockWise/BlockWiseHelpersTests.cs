namespace CoapEnroll.Coap.Tests.BlockWise;

public class BlockWiseHelpersTests
{
    public static TheoryData<int, int, int> Cases => new()
    {
        { 0, 0, 1152 },
        { 2, 5, 1152 },
        { 8, 300, 1152 },
        { 4, 900, 1152 },
        { 1, 40, 300 },
        { 8, 1100, 1280 },
    };

    // FitBlockSize counts the message as GetEncodedLength counts it with no payload and a token of the longest length.
    [Theory]
    [MemberData(nameof(Cases))]
    public void FitBlockSize_CountsTheMessageLikeTheEncoder(int tokenLength, int optionBytes, int maxMessageSize)
    {
        var message = new CoapMessage { Code = CoapCode.Content, Token = new byte[tokenLength], Payload = new byte[500] }
            .WithContentFormat(CoapContentFormat.Json)
            .SetUInt(CoapOptionNumber.MaxAge, 60);
        if (optionBytes > 0)
        {
            message = message.SetOption(new CoapOption(CoapOptionNumber.LocationPath, new byte[Math.Min(optionBytes, 255)]))
                .WithOption(new CoapOption(CoapOptionNumber.ProxyUri, new byte[optionBytes]));
        }

        int probe = CoapMessageEncoder.GetEncodedLength(message with { Payload = ReadOnlyMemory<byte>.Empty, Token = new byte[CoapMessage.MaxTokenLength] });
        for (int opaque = 0; opaque <= 2; opaque++)
        {
            int expected = BlockWiseHelpers.FloorBlockSize(maxMessageSize - (probe + 1 + (2 * 6) + 7 + (opaque * 11)));
            Assert.Equal(expected, BlockWiseHelpers.FitBlockSize(message, maxMessageSize, opaque));
        }
    }

    [Theory]
    [InlineData(CoapOptionNumber.Block1)]
    [InlineData(CoapOptionNumber.Block2)]
    [InlineData(CoapOptionNumber.Size1)]
    [InlineData(CoapOptionNumber.Size2)]
    public void WithoutBlockOptions_RemovesEachOfTheFour_AndIsTheSameCollectionWithoutThem(int number)
    {
        var plain = CoapMessage.CreateRequest(CoapCode.Post, "/a").WithContentFormat(CoapContentFormat.Json).WithUriQuery("q").Options;
        Assert.False(BlockWiseHelpers.HasBlockOptions(plain));
        Assert.Same(plain, BlockWiseHelpers.WithoutBlockOptions(plain));

        var withBlock = plain.Add(CoapOption.FromUInt(number, 0x16)).Add(CoapOption.FromUInt(CoapOptionNumber.Size1, 100));
        Assert.True(BlockWiseHelpers.HasBlockOptions(withBlock));
        Assert.Equal(plain.Select(o => o.Number), BlockWiseHelpers.WithoutBlockOptions(withBlock).Select(o => o.Number));
    }
}
