using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Messages;

/// <summary>RFC 7252 §5.4.1 (critical/elective), §5.4.3 (length), §5.4.5 (repetition).</summary>
public class CoapMessageRejectableOptionTests
{
    private static CoapMessage Request(params CoapOption[] options)
        => new() { Code = CoapCode.Get, Options = CoapOptionCollection.Create(options) };

    private static CoapOption Bytes(int number, int length) => new(number, MessageAssert.Filled(length, 1));

    [Fact]
    public void NoOptions_NothingToReject()
    {
        Assert.False(Request().TryFindRejectableOption(out var option));
        Assert.Equal(default, option);
    }

    [Fact]
    public void RecognisedOptionsWithinBounds_AreAccepted()
    {
        var message = CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/est/sen")
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriHost, "example.com"))
            .WithOption(CoapOption.FromUInt(CoapOptionNumber.UriPort, 5684))
            .WithOption(Bytes(CoapOptionNumber.IfMatch, 2))
            .WithOption(Bytes(CoapOptionNumber.IfMatch, 0))
            .WithAccept(CoapContentFormat.PkixCert)
            .WithBlock1(new BlockOption(0, true, 6))
            .WithOption(CoapOption.Empty(CoapOptionNumber.IfNoneMatch));

        Assert.False(message.TryFindRejectableOption(out _));
    }

    [Theory]
    [InlineData(2049)]
    [InlineData(65535)]
    [InlineData(13)]
    public void UnknownCriticalOption_IsRejected(int number)
    {
        Assert.True(Request(Bytes(number, 1)).TryFindRejectableOption(out var option));
        Assert.Equal(number, option.Number);
    }

    [Theory]
    [InlineData(2048)]
    [InlineData(65534)]
    [InlineData(2)]
    public void UnknownElectiveOption_IsIgnored(int number)
    {
        Assert.False(Request(Bytes(number, 3)).TryFindRejectableOption(out _));
    }

    [Fact]
    public void SecondUriHost_IsRejected()
    {
        var message = Request(CoapOption.FromString(CoapOptionNumber.UriHost, "a.example"), CoapOption.FromString(CoapOptionNumber.UriHost, "b.example"));

        Assert.True(message.TryFindRejectableOption(out var option));
        Assert.Equal(CoapOptionNumber.UriHost, option.Number);
        Assert.Equal("b.example", option.GetString());
    }

    [Fact]
    public void SecondAccept_IsRejected()
    {
        Assert.True(Request(CoapOption.FromUInt(CoapOptionNumber.Accept, 40), CoapOption.FromUInt(CoapOptionNumber.Accept, 41)).TryFindRejectableOption(out var option));
        Assert.Equal(41u, option.GetUInt());
    }

    [Fact]
    public void RepeatedElectiveNonRepeatableOption_IsIgnored()
    {
        var message = Request(CoapOption.FromUInt(CoapOptionNumber.ContentFormat, 0), CoapOption.FromUInt(CoapOptionNumber.ContentFormat, 60));
        Assert.False(message.TryFindRejectableOption(out _));
    }

    [Fact]
    public void RepeatedRepeatableCriticalOption_IsAccepted()
    {
        var message = Request(Bytes(CoapOptionNumber.IfMatch, 1), Bytes(CoapOptionNumber.IfMatch, 4), Bytes(CoapOptionNumber.UriPath, 0), Bytes(CoapOptionNumber.UriPath, 255));
        Assert.False(message.TryFindRejectableOption(out _));
    }

    [Theory]
    [InlineData(CoapOptionNumber.Accept, 3)]
    [InlineData(CoapOptionNumber.UriHost, 0)]
    [InlineData(CoapOptionNumber.UriHost, 256)]
    [InlineData(CoapOptionNumber.UriPort, 3)]
    [InlineData(CoapOptionNumber.IfNoneMatch, 1)]
    [InlineData(CoapOptionNumber.IfMatch, 9)]
    [InlineData(CoapOptionNumber.UriPath, 256)]
    [InlineData(CoapOptionNumber.Block2, 4)]
    [InlineData(CoapOptionNumber.ProxyUri, 1035)]
    public void CriticalOptionWithLengthOutOfBounds_IsRejected(int number, int length)
    {
        Assert.True(Request(Bytes(number, length)).TryFindRejectableOption(out var option));
        Assert.Equal(number, option.Number);
        Assert.Equal(length, option.Value.Length);
    }

    [Theory]
    [InlineData(CoapOptionNumber.ContentFormat, 3)]
    [InlineData(CoapOptionNumber.ETag, 9)]
    [InlineData(CoapOptionNumber.ETag, 0)]
    [InlineData(CoapOptionNumber.MaxAge, 5)]
    [InlineData(CoapOptionNumber.Size1, 5)]
    public void ElectiveOptionWithLengthOutOfBounds_IsIgnored(int number, int length)
    {
        Assert.False(Request(Bytes(number, length)).TryFindRejectableOption(out _));
    }

    [Fact]
    public void TheFirstRejectableOptionIsReported()
    {
        var message = Request(Bytes(9999, 1), Bytes(CoapOptionNumber.Accept, 3), Bytes(2048, 1));
        Assert.True(message.TryFindRejectableOption(out var option));
        Assert.Equal(CoapOptionNumber.Accept, option.Number);
    }
}
