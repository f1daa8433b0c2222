using CoapEnroll.Cli.Client;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests;

public class CoapTargetUriTests
{
    [Theory]
    [InlineData("coap://127.0.0.1", "127.0.0.1", 5683, new string[0], new string[0])]
    [InlineData("coap://127.0.0.1/", "127.0.0.1", 5683, new string[0], new string[0])]
    [InlineData("coap://[::1]:61616/a/b", "::1", 61616, new[] { "a", "b" }, new string[0])]
    [InlineData("coaps://example.com/.well-known/est/sen", "example.com", 5684, new[] { ".well-known", "est", "sen" }, new string[0])]
    [InlineData("coap://h/a%2Fb/c?x=1&y=%26", "h", 5683, new[] { "a/b", "c" }, new[] { "x=1", "y=&" })]
    [InlineData("COAP://H:1/%C3%A4", "h", 1, new[] { "ä" }, new string[0])]
    public void Parse_SplitsBeforeDecoding(string text, string host, int port, string[] path, string[] query)
    {
        var uri = CoapTargetUri.Parse(text);

        Assert.Equal(host, uri.Host, ignoreCase: true);
        Assert.Equal(port, uri.Port);
        Assert.Equal(path, uri.PathSegments);
        Assert.Equal(query, uri.QueryParts);
    }

    [Theory]
    [InlineData("http://h/x")]
    [InlineData("/relative")]
    [InlineData("coap://h/x#f")]
    [InlineData("coap:///x")]
    public void Parse_RejectsNonCoapUris(string text)
    {
        var ex = Assert.Throws<CoapProtocolException>(() => CoapTargetUri.Parse(text));
        Assert.Equal(CoapError.InvalidUri, ex.Error);
    }

    [Fact]
    public void ApplyTo_SetsUriHostOnlyForNames()
    {
        var byName = CoapTargetUri.Parse("coap://Device.Example/a?b").ApplyTo(CoapMessage.CreateRequest(CoapCode.Get));
        var byAddress = CoapTargetUri.Parse("coap://[2001:db8::1]/a").ApplyTo(CoapMessage.CreateRequest(CoapCode.Get));

        Assert.Equal("device.example", byName.GetString(CoapOptionNumber.UriHost));
        Assert.Equal(["a"], byName.UriPathSegments);
        Assert.Equal(["b"], byName.UriQuery);
        Assert.Null(byAddress.GetString(CoapOptionNumber.UriHost));
    }

    [Fact]
    public async Task ResolveAsync_ReturnsLiteralAddress()
    {
        var endPoint = await CoapTargetUri.Parse("coap://[::1]:7000/").ResolveAsync(default);
        Assert.Equal(System.Net.IPAddress.IPv6Loopback, endPoint.Address);
        Assert.Equal(7000, endPoint.Port);
    }
}
