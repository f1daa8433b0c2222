using CoapEnroll.Cli.Client;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests;

public class ResponseFormatterTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("text", 0)]
    [InlineData("cbor", 60)]
    [InlineData("application/link-format", 40)]
    [InlineData("application/pkcs7-mime; smime-type=certs-only", 281)]
    [InlineData("PKCS10", 286)]
    [InlineData("65535", 65535)]
    public void ContentFormat_ParsesNumbersAndNames(string text, int expected)
    {
        Assert.True(ContentFormats.TryParse(text, out int ct));
        Assert.Equal(expected, ct);
    }

    [Theory]
    [InlineData("65536")]
    [InlineData("-1")]
    [InlineData("text/html")]
    [InlineData("")]
    public void ContentFormat_RejectsUnknown(string text) => Assert.False(ContentFormats.TryParse(text, out _));

    [Fact]
    public void Head_NamesCodeAndOptions()
    {
        var response = new CoapMessage { Code = CoapCode.Content }
            .WithContentFormat(CoapContentFormat.LinkFormat)
            .SetUInt(CoapOptionNumber.MaxAge, 60)
            .WithBlock2(new BlockOption(2, true, 2));
        using var output = new StringWriter();

        ResponseFormatter.WriteHead(output, response);

        Assert.Equal(
            "2.05 Content\n  Content-Format: application/link-format (40)\n  Max-Age: 60\n  Block2: 2/1/64\n",
            output.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Payload_PrintableUtf8IsText()
    {
        using var output = new StringWriter();
        ResponseFormatter.WritePayload(output, new CoapMessage { Code = CoapCode.Content }.WithPayload("grüße\tfrom CoAP"));
        Assert.Equal("\ngrüße\tfrom CoAP\n", output.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Payload_BinaryIsHexDump()
    {
        byte[] bytes = [.. Enumerable.Range(0, 20).Select(i => (byte)(i + 0x3C))];
        using var output = new StringWriter();

        ResponseFormatter.WritePayload(output, new CoapMessage { Code = CoapCode.Content, Payload = bytes }.WithContentFormat(CoapContentFormat.Cbor));

        string[] lines = output.ToString().ReplaceLineEndings("\n").Split('\n');
        Assert.Equal("00000000  3c 3d 3e 3f 40 41 42 43  44 45 46 47 48 49 4a 4b  |<=>?@ABCDEFGHIJK|", lines[1]);
        Assert.StartsWith("00000010  4c 4d 4e 4f", lines[2], StringComparison.Ordinal);
        Assert.EndsWith("|LMNO|", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Payload_InvalidUtf8OrControlCharactersIsHexDump()
    {
        Assert.False(ResponseFormatter.TryGetText([0xC3, 0x28], null, out _));
        Assert.False(ResponseFormatter.TryGetText([0x41, 0x00, 0x42], null, out _));
        Assert.False(ResponseFormatter.TryGetText("abc"u8, CoapContentFormat.OctetStream, out _));
        Assert.True(ResponseFormatter.TryGetText("{\"a\":1}"u8, CoapContentFormat.Json, out _));
    }
}
