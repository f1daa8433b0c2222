using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Messages;

public class CoapCodeTests
{
    [Theory]
    [InlineData("0.00", 0x00)]
    [InlineData("2.05", 0x45)]
    [InlineData("2.31", 0x5F)]
    [InlineData("4.04", 0x84)]
    [InlineData("5.03", 0xA3)]
    [InlineData("7.31", 0xFF)]
    [InlineData("0.08", 0x08)]
    public void Parse_DottedForm(string text, byte value)
    {
        Assert.True(CoapCode.TryParse(text, out var code));
        Assert.Equal(value, code.Value);
    }

    [Theory]
    [InlineData("GET", 1)]
    [InlineData("get", 1)]
    [InlineData("Post", 2)]
    [InlineData("PUT", 3)]
    [InlineData("delete", 4)]
    [InlineData("FETCH", 5)]
    [InlineData("PATCH", 6)]
    [InlineData("iPATCH", 7)]
    public void Parse_MethodNames(string text, byte value)
    {
        Assert.True(CoapCode.TryParse(text, out var code));
        Assert.Equal(value, code.Value);
        Assert.True(code.IsRequest);
    }

    [Theory]
    [InlineData("")]
    [InlineData("2.5")]
    [InlineData("2.005")]
    [InlineData("8.00")]
    [InlineData("2.32")]
    [InlineData("2,05")]
    [InlineData("a.bc")]
    [InlineData(" 2.05")]
    [InlineData("GETS")]
    [InlineData("205")]
    public void Parse_RejectsMalformedText(string text)
    {
        Assert.False(CoapCode.TryParse(text, out var code));
        Assert.Equal(default, code);
    }

    [Fact]
    public void FormatThenParse_RoundTripsEveryCode()
    {
        for (int value = 0; value <= 255; value++)
        {
            var code = new CoapCode((byte)value);
            string text = code.ToString();
            Assert.True(CoapCode.TryParse(text, out var parsed), text);
            Assert.Equal(code, parsed);
            Assert.Equal(value >> 5, code.Class);
            Assert.Equal(value & 31, code.Detail);
        }
    }

    [Fact]
    public void Format_UsesMethodNamesAndTwoDigitDetails()
    {
        Assert.Equal("GET", CoapCode.Get.ToString());
        Assert.Equal("iPATCH", CoapCode.IPatch.ToString());
        Assert.Equal("0.00", CoapCode.Empty.ToString());
        Assert.Equal("0.08", new CoapCode(0, 8).ToString());
        Assert.Equal("2.05", CoapCode.Content.ToString());
        Assert.Equal("4.15", CoapCode.UnsupportedContentFormat.ToString());
        Assert.Equal("2.31", CoapCode.Continue.ToString());
    }

    [Fact]
    public void Classification()
    {
        Assert.True(CoapCode.Empty.IsEmpty);
        Assert.False(CoapCode.Empty.IsRequest);
        Assert.True(CoapCode.Content.IsResponse && CoapCode.Content.IsSuccess);
        Assert.True(CoapCode.NotFound.IsClientError && CoapCode.NotFound.IsResponse);
        Assert.True(CoapCode.GatewayTimeout.IsServerError);
        Assert.False(new CoapCode(3, 0).IsReserved);
        Assert.True(new CoapCode(1, 0).IsReserved);
        Assert.True(new CoapCode(6, 1).IsReserved);
        Assert.True(new CoapCode(7, 31).IsReserved);
        Assert.False(new CoapCode(1, 0).IsResponse);
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(8, 0)]
    [InlineData(0, 32)]
    [InlineData(0, -1)]
    public void Constructor_RejectsOutOfRangeParts(int codeClass, int detail)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoapCode(codeClass, detail));
    }
}
