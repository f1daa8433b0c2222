using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Messages;

public class CoapOptionNumberTests
{
    // RFC 7252 §5.10 Table 4 (C, U, N columns), RFC 7959 §2.1/§4, RFC 7641 §2, RFC 9175 §2.2/§3.2,
    // RFC 7967 §2 and RFC 8613 §2; the properties follow from the number alone (§5.4.6).
    [Theory]
    [InlineData(CoapOptionNumber.IfMatch, true, false, false)]
    [InlineData(CoapOptionNumber.UriHost, true, true, false)]
    [InlineData(CoapOptionNumber.ETag, false, false, false)]
    [InlineData(CoapOptionNumber.IfNoneMatch, true, false, false)]
    [InlineData(CoapOptionNumber.Observe, false, true, false)]
    [InlineData(CoapOptionNumber.UriPort, true, true, false)]
    [InlineData(CoapOptionNumber.LocationPath, false, false, false)]
    [InlineData(CoapOptionNumber.Oscore, true, false, false)]
    [InlineData(CoapOptionNumber.UriPath, true, true, false)]
    [InlineData(CoapOptionNumber.ContentFormat, false, false, false)]
    [InlineData(CoapOptionNumber.MaxAge, false, true, false)]
    [InlineData(CoapOptionNumber.UriQuery, true, true, false)]
    [InlineData(CoapOptionNumber.HopLimit, false, false, false)]
    [InlineData(CoapOptionNumber.Accept, true, false, false)]
    [InlineData(CoapOptionNumber.LocationQuery, false, false, false)]
    [InlineData(CoapOptionNumber.Block2, true, true, false)]
    [InlineData(CoapOptionNumber.Block1, true, true, false)]
    [InlineData(CoapOptionNumber.Size2, false, false, true)]
    [InlineData(CoapOptionNumber.ProxyUri, true, true, false)]
    [InlineData(CoapOptionNumber.ProxyScheme, true, true, false)]
    [InlineData(CoapOptionNumber.Size1, false, false, true)]
    [InlineData(CoapOptionNumber.Echo, false, false, true)]
    [InlineData(CoapOptionNumber.NoResponse, false, true, false)]
    [InlineData(CoapOptionNumber.RequestTag, false, false, false)]
    public void PropertiesFollowTheNumber(int number, bool critical, bool unsafeToForward, bool noCacheKey)
    {
        Assert.Equal(critical, CoapOptionNumber.IsCritical(number));
        Assert.Equal(unsafeToForward, CoapOptionNumber.IsUnsafe(number));
        Assert.Equal(noCacheKey, CoapOptionNumber.IsNoCacheKey(number));

        Assert.True(CoapOptionRegistry.TryGet(number, out var definition));
        Assert.Equal(critical, definition.IsCritical);
        Assert.Equal(unsafeToForward, definition.IsUnsafe);
        Assert.Equal(noCacheKey, definition.IsNoCacheKey);
    }

    [Theory]
    [InlineData(28, true)]
    [InlineData(29, true)] // critical, safe, NoCacheKey
    [InlineData(30, false)] // bits 2-4 set, but unsafe: NoCacheKey applies to safe options only
    [InlineData(31, false)]
    [InlineData(24, false)]
    [InlineData(0x1C + 0x20, true)]
    [InlineData(65532, true)]
    [InlineData(65534, false)]
    public void NoCacheKey_UsesTheRfcMask(int number, bool noCacheKey)
    {
        // RFC 7252 §5.4.6: NoCacheKey is (onum & 0x1e) == 0x1c, which includes "safe to forward".
        Assert.Equal(noCacheKey, CoapOptionNumber.IsNoCacheKey(number));
    }

    [Fact]
    public void Registry_NamesKnownAndUnknownOptions()
    {
        Assert.Equal("Uri-Host", CoapOptionRegistry.GetName(3));
        Assert.Equal("Option2048", CoapOptionRegistry.GetName(2048));
        Assert.False(CoapOptionRegistry.IsKnown(2048));
        Assert.Equal(CoapOptionRegistry.All.Select(d => d.Number).Order(), CoapOptionRegistry.All.Select(d => d.Number));
    }
}
