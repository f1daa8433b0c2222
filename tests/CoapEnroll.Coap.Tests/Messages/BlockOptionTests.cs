using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Messages;

public class BlockOptionTests
{
    [Theory]
    [InlineData(0, false, 0, 0x000000u, 0)]
    [InlineData(0, true, 6, 0x00000Eu, 1)]
    [InlineData(1, false, 2, 0x000012u, 1)]
    [InlineData(15, true, 0, 0x0000F8u, 1)]
    [InlineData(16, false, 6, 0x000106u, 2)]
    [InlineData(4095, true, 4, 0x00FFFCu, 2)]
    [InlineData(4096, false, 1, 0x010001u, 3)]
    [InlineData(BlockOption.MaxNumber, true, 6, 0xFFFFFEu, 3)]
    public void Encode_MatchesRfc7959Layout(int number, bool more, int szx, uint encoded, int optionLength)
    {
        // RFC 7959 §2.2: NUM in the high bits, then M (bit 3), then SZX (bits 0-2); the option is a
        // uint of 0-3 bytes in its shortest form.
        var block = new BlockOption(number, more, szx);
        Assert.Equal(encoded, block.Encode());

        CoapOption option = block.ToOption(CoapOptionNumber.Block2);
        Assert.Equal(optionLength, option.Value.Length);

        Assert.True(BlockOption.TryDecode(encoded, out var decoded));
        Assert.Equal(block, decoded);
        Assert.Equal(block, BlockOption.Decode(option.GetUInt()));
    }

    [Theory]
    [InlineData(0x07u)]
    [InlineData(0x0Fu)]
    [InlineData(0xFFFFFFu)]
    public void Szx7_IsReserved(uint value)
    {
        Assert.False(BlockOption.TryDecode(value, out var block));
        Assert.Equal(default, block);
        var ex = Assert.Throws<CoapProtocolException>(() => BlockOption.Decode(value));
        Assert.Equal(CoapError.BadOption, ex.Error);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BlockOption(0, false, 7));
    }

    [Fact]
    public void ValuesBeyond24Bits_AreRejected()
    {
        Assert.False(BlockOption.TryDecode(0x1000000u, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BlockOption(BlockOption.MaxNumber + 1, false, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BlockOption(-1, false, 0));
    }

    [Theory]
    [InlineData(0, 16)]
    [InlineData(2, 64)]
    [InlineData(6, 1024)]
    public void Size_IsTwoToTheSzxPlusFour(int szx, int size)
    {
        var block = new BlockOption(3, false, szx);
        Assert.Equal(size, block.Size);
        Assert.Equal(3 * size, block.Offset);
        Assert.Equal(szx, BlockOption.SizeToExponent(size));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(48)]
    [InlineData(2048)]
    public void SizeToExponent_RejectsUnusableSizes(int size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BlockOption.SizeToExponent(size));
    }

    [Fact]
    public void MessageAccessors_IgnoreAReservedSzx()
    {
        var message = new CoapMessage { Code = CoapCode.Content }
            .WithOption(CoapOption.FromUInt(CoapOptionNumber.Block2, 0x17))
            .WithBlock1(new BlockOption(2, true, 6));

        Assert.Null(message.Block2);
        Assert.Equal(new BlockOption(2, true, 6), message.Block1);
    }

    [Fact]
    public void OptionToString_DescribesAReservedSzxWithoutThrowing()
    {
        var option = CoapOption.FromUInt(CoapOptionNumber.Block2, 0x17);
        Assert.Equal("Block2: 23", option.ToString());
        Assert.Equal("Block1: 1/1/64", new BlockOption(1, true, 2).ToOption(CoapOptionNumber.Block1).ToString());
    }
}
