namespace CoapEnroll.Coap.Tests.Messages;

public class CoapOptionTests
{
    [Theory]
    [InlineData(0u, new byte[0])]
    [InlineData(1u, new byte[] { 1 })]
    [InlineData(0xFFu, new byte[] { 0xFF })]
    [InlineData(0x100u, new byte[] { 1, 0 })]
    [InlineData(0xFFFFu, new byte[] { 0xFF, 0xFF })]
    [InlineData(0x10000u, new byte[] { 1, 0, 0 })]
    [InlineData(0x1000000u, new byte[] { 1, 0, 0, 0 })]
    [InlineData(uint.MaxValue, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF })]
    public void FromUInt_IsTheShortestBigEndianForm(uint value, byte[] expected)
    {
        var option = CoapOption.FromUInt(CoapOptionNumber.MaxAge, value);
        Assert.Equal(expected, option.Value.ToArray());
        Assert.Equal(value, option.GetUInt());
    }

    [Fact]
    public void FromUInt_OneByteValuesAreEqualWhereverTheyAreUsed()
    {
        // One-byte values share their storage; options and messages built from them stay independent.
        var a = CoapOption.FromUInt(CoapOptionNumber.ContentFormat, 50);
        var b = CoapOption.FromUInt(CoapOptionNumber.Accept, 50);
        Assert.Equal(a.Value.ToArray(), b.Value.ToArray());
        var message = new CoapMessage { Code = CoapCode.Content }.WithContentFormat(50).WithAccept(40);
        Assert.Equal(50, message.ContentFormat);
        Assert.Equal(40, message.Accept);
        Assert.Equal(50, new CoapMessage().WithContentFormat(50).ContentFormat);
    }
}
