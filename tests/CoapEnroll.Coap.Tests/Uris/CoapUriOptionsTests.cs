using System.Net;
using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Uris;

public class CoapUriOptionsTests
{
    private static CoapMessage Get(params CoapOption[] options)
        => new() { Code = CoapCode.Get, Options = CoapOptionCollection.Create(options) };

    private static CoapOption Path(string s) => CoapOption.FromString(CoapOptionNumber.UriPath, s);

    private static CoapOption Query(string s) => CoapOption.FromString(CoapOptionNumber.UriQuery, s);

    private static CoapOption UriHost(string s) => CoapOption.FromString(CoapOptionNumber.UriHost, s);

    // RFC 7252 Appendix B.
    [Fact]
    public void AppendixB_DestinationAddressOnly()
        => Assert.Equal("coap://[2001:db8::2:1]/", CoapUri.FromOptions(Get(), "coap", "2001:db8::2:1", 5683));

    [Fact]
    public void AppendixB_UriHost()
        => Assert.Equal("coap://example.net/", CoapUri.FromOptions(Get(UriHost("example.net")), "coap", "[2001:db8::2:1]", 5683));

    [Fact]
    public void AppendixB_UriHostAndPath()
        => Assert.Equal(
            "coap://example.net/.well-known/core",
            CoapUri.FromOptions(Get(UriHost("example.net"), Path(".well-known"), Path("core")), "coap", "2001:db8::2:1", 5683));

    [Fact]
    public void AppendixB_NonAsciiPath()
        => Assert.Equal(
            "coap://xn--18j4d.example/%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF",
            CoapUri.FromOptions(Get(UriHost("xn--18j4d.example"), Path("こんにちは")), "coap", "2001:db8::2:1", 5683));

    [Fact]
    public void AppendixB_EmptyAndSlashSegmentsAndQueries()
    {
        var request = Get(Path(""), Path("/"), Path(""), Path(""), Query("//"), Query("?&"));

        string text = CoapUri.FromOptions(request, "coap", "198.51.100.1", 61616);

        // Appendix B prints "?%2F%2F&?%26", but §6.5 step 8 (normative) leaves "/" and "?" unencoded
        // in a query; only "&" must be encoded. We follow step 8.
        Assert.Equal("coap://198.51.100.1:61616//%2F//?//&?%26", text);
        var reparsed = CoapUri.Parse(text);
        Assert.Equal(["", "/", "", ""], reparsed.PathSegments);
        Assert.Equal(["//", "?&"], reparsed.QueryParts);
    }

    [Fact]
    public void UriPort_OverridesTheDestinationPort_DefaultIsElided()
    {
        Assert.Equal("coaps://h:1234/x", CoapUri.FromOptions(Get(Path("x"), CoapOption.FromUInt(CoapOptionNumber.UriPort, 1234)), "coaps", "h", 5684));
        Assert.Equal("coaps://h/x", CoapUri.FromOptions(Get(Path("x"), CoapOption.FromUInt(CoapOptionNumber.UriPort, 5684)), "COAPS", "h", 9999));
        Assert.Equal("coap://[fe80::1%2517]:7/", CoapUri.FromOptions(Get(), "coap", new IPAddress(IPAddress.Parse("fe80::1").GetAddressBytes(), 17).ToString(), 7));
    }

    [Fact]
    public void UriHost_IsLowercasedAndNonAsciiEncoded()
    {
        Assert.Equal("coap://example.com/", CoapUri.FromOptions(Get(UriHost("Example.COM")), "coap", "10.0.0.1", 5683));
        Assert.Equal("coap://b%C3%BCcher.example/", CoapUri.FromOptions(Get(UriHost("bücher.example")), "coap", "10.0.0.1", 5683));
        Assert.Equal("coap://[2001:db8::1]/", CoapUri.FromOptions(Get(UriHost("2001:DB8::1")), "coap", "10.0.0.1", 5683));
    }

    [Theory]
    [InlineData("exa mple")]
    [InlineData("a/b")]
    [InlineData("[not-ipv6]")]
    [InlineData("2001:db8::zz")]
    public void InvalidUriHost_Fails(string host)
    {
        var ex = Assert.Throws<CoapProtocolException>(() => CoapUri.FromOptions(Get(UriHost(host)), "coap", "10.0.0.1", 5683));
        Assert.Equal(CoapError.InvalidUri, ex.Error);
        Assert.Contains("Uri-Host", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUriPortOrArguments_Fail()
    {
        var badPort = Get(new CoapOption(CoapOptionNumber.UriPort, new byte[] { 1, 0, 0 }));
        Assert.Equal(CoapError.InvalidUri, Assert.Throws<CoapProtocolException>(() => CoapUri.FromOptions(badPort, "coap", "h", 5683)).Error);
        Assert.Throws<ArgumentException>(() => CoapUri.FromOptions(Get(), "http", "h", 80));
        Assert.Throws<ArgumentOutOfRangeException>(() => CoapUri.FromOptions(Get(), "coap", "h", 65536));
    }

    [Theory]
    [InlineData("coap://example.com/.well-known/est/simpleenroll?a=1&b")]
    [InlineData("coaps://[2001:db8::1]:61616/a%2Fb/%20/~x?q=%26&r=/?")]
    [InlineData("coap://198.51.100.1/")]
    [InlineData("coap://b%C3%BCcher.example:1/%E3%81%93")]
    public void ParseApplyCompose_RoundTrips(string text)
    {
        var uri = CoapUri.Parse(text);
        CoapMessage request = uri.ApplyTo(CoapMessage.CreateRequest(CoapCode.Post, "/old").WithUriQuery("old"));
        string destination = uri.HostAddress?.ToString() ?? "192.0.2.1";

        string composed = CoapUri.FromOptions(request, uri.Scheme, destination, uri.Port);

        Assert.Equal(uri.ToString(), composed);
        Assert.Equal(text, composed);
        Assert.Equal(uri, CoapUri.Parse(composed));
    }

    [Fact]
    public void ApplyTo_ReplacesUriOptionsAndKeepsOthers()
    {
        var request = CoapMessage.CreateRequest(CoapCode.Post, "/old/path")
            .WithOption(UriHost("old.example"))
            .WithOption(CoapOption.FromUInt(CoapOptionNumber.UriPort, 9))
            .WithUriQuery("old")
            .WithContentFormat(CoapContentFormat.Pkcs10)
            .WithPayload("csr");

        CoapMessage applied = CoapUri.Parse("coaps://est.example:61616/.well-known/est/sen?x").ApplyTo(request);

        Assert.Equal("est.example", applied.GetString(CoapOptionNumber.UriHost));
        Assert.False(applied.Options.Contains(CoapOptionNumber.UriPort));
        Assert.Equal([".well-known", "est", "sen"], applied.UriPathSegments);
        Assert.Equal(["x"], applied.UriQuery);
        Assert.Equal(CoapContentFormat.Pkcs10, applied.ContentFormat);
        Assert.Equal("csr", applied.PayloadText);
        Assert.Equal(CoapCode.Post, applied.Code);

        CoapMessage withoutHost = CoapUri.Parse("coap://est.example/x").ApplyTo(request, includeHost: false);
        Assert.False(withoutHost.Options.Contains(CoapOptionNumber.UriHost));
        Assert.False(CoapUri.Parse("coap://10.1.2.3/x").ApplyTo(request, includeHost: true).Options.Contains(CoapOptionNumber.UriHost));
    }

    [Fact]
    public void FormatLocation_RendersARelativeReference()
    {
        CoapMessage response = new() { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Created };
        Assert.Null(CoapUri.FormatLocation(response));

        var withPath = response
            .WithOption(CoapOption.FromString(CoapOptionNumber.LocationPath, "est"))
            .WithOption(CoapOption.FromString(CoapOptionNumber.LocationPath, "req 1/2"));
        Assert.Equal("/est/req%201%2F2", CoapUri.FormatLocation(withPath));

        var withQuery = withPath.WithOption(CoapOption.FromString(CoapOptionNumber.LocationQuery, "a=b"))
            .WithOption(CoapOption.FromString(CoapOptionNumber.LocationQuery, "c&d"));
        Assert.Equal("/est/req%201%2F2?a=b&c%26d", CoapUri.FormatLocation(withQuery));

        var queryOnly = response.WithOption(CoapOption.FromString(CoapOptionNumber.LocationQuery, "id=7"));
        Assert.Equal("?id=7", CoapUri.FormatLocation(queryOnly));
    }

    [Fact]
    public async Task ResolveAsync_LiteralsNeedNoDns()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 61616), await CoapUri.Parse("coap://192.0.2.7:61616/").ResolveAsync());
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 5684), await CoapUri.Parse("coaps://[::1]/").ResolveAsync());
    }

    [Fact]
    public async Task ResolveAsync_LocalhostPrefersIPv4Loopback()
    {
        IPEndPoint endpoint = await CoapUri.Parse("coap://LOCALHOST:1234/").ResolveAsync();
        Assert.Equal(1234, endpoint.Port);
        Assert.True(IPAddress.IsLoopback(endpoint.Address));
        IPAddress[] all = await Dns.GetHostAddressesAsync("localhost");
        if (Array.IndexOf(all, IPAddress.Loopback) >= 0)
        {
            Assert.Equal(IPAddress.Loopback, endpoint.Address);
        }
    }

    [Fact]
    public async Task ResolveAsync_HonoursCancellation()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CoapUri.Parse("coap://example.invalid/").ResolveAsync(cts.Token).AsTask());
    }
}
