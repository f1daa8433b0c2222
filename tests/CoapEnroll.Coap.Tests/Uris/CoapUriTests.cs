using System.Net;
using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.Uris;

public class CoapUriTests
{
    [Fact]
    public void Rfc7252Section6_3_EquivalentUris_AreEqualAndGiveTheSameOptions()
    {
        var a = CoapUri.Parse("coap://example.com:5683/~sensors/temp.xml");
        var b = CoapUri.Parse("coap://EXAMPLE.com/%7Esensors/temp.xml");
        var c = CoapUri.Parse("coap://EXAMPLE.com:/%7esensors/temp.xml");

        Assert.Equal(a, b);
        Assert.Equal(a, c);
        Assert.True(a == c);
        Assert.Equal(a.GetHashCode(), c.GetHashCode());
        Assert.Equal("coap://example.com/~sensors/temp.xml", c.ToString());
        Assert.Equal("example.com", c.Host);
        Assert.Equal(5683, c.Port);
        Assert.Equal(["~sensors", "temp.xml"], c.PathSegments);

        CoapMessage request = c.ApplyTo(new CoapMessage { Code = CoapCode.Get });
        Assert.Equal("example.com", request.GetString(CoapOptionNumber.UriHost));
        Assert.False(request.Options.Contains(CoapOptionNumber.UriPort));
        Assert.Equal(["~sensors", "temp.xml"], request.UriPathSegments);
    }

    [Fact]
    public void Ipv6Literal_DefaultPort_RootPath()
    {
        var uri = CoapUri.Parse("coap://[2001:db8::2:1]/");

        Assert.Equal("coap", uri.Scheme);
        Assert.False(uri.IsSecure);
        Assert.Equal("2001:db8::2:1", uri.Host);
        Assert.Equal(IPAddress.Parse("2001:db8::2:1"), uri.HostAddress);
        Assert.Equal(CoapUri.DefaultPort, uri.Port);
        Assert.Empty(uri.PathSegments);
        Assert.Empty(uri.QueryParts);
        Assert.Equal("coap://[2001:db8::2:1]/", uri.ToString());

        // RFC 7252 §6.4 step 5: an IP literal is the destination itself, so no Uri-Host.
        CoapMessage request = uri.ApplyTo(new CoapMessage { Code = CoapCode.Get });
        Assert.Empty(request.Options);
    }

    [Fact]
    public void Ipv6LiteralIsNormalizedToRfc5952Form()
    {
        var uri = CoapUri.Parse("coap://[2001:DB8:0:0:0:0:2:1]");
        Assert.Equal("coap://[2001:db8::2:1]/", uri.ToString());
        Assert.Equal(CoapUri.Parse("coap://[2001:db8::2:1]/"), uri);
    }

    [Fact]
    public void Coaps_WithExplicitDefaultPort_AndWellKnownPath()
    {
        var uri = CoapUri.Parse("coaps://[::1]:5684/.well-known/est/crts");

        Assert.True(uri.IsSecure);
        Assert.Equal("coaps", uri.Scheme);
        Assert.Equal(IPAddress.IPv6Loopback, uri.HostAddress);
        Assert.Equal(CoapUri.DefaultSecurePort, uri.Port);
        Assert.Equal([".well-known", "est", "crts"], uri.PathSegments);
        Assert.Equal("coaps://[::1]/.well-known/est/crts", uri.ToString());
    }

    [Theory]
    [InlineData("coap://h", 5683)]
    [InlineData("coaps://h", 5684)]
    [InlineData("coap://h:", 5683)]
    [InlineData("coaps://h:/x", 5684)]
    [InlineData("coap://h:5684", 5684)]
    [InlineData("coaps://h:5683", 5683)]
    [InlineData("coap://h:61616", 61616)]
    [InlineData("coap://h:065535", 65535)]
    public void Ports_DefaultPerScheme(string text, int port)
    {
        var uri = CoapUri.Parse(text);
        Assert.Equal(port, uri.Port);
        bool isDefault = port == (uri.IsSecure ? 5684 : 5683);
        Assert.Equal(isDefault, !uri.ToString().Contains($":{port}", StringComparison.Ordinal));
    }

    [Fact]
    public void Ipv4AndHostNames()
    {
        var ipv4 = CoapUri.Parse("coap://198.51.100.1:61616/a");
        Assert.Equal(IPAddress.Parse("198.51.100.1"), ipv4.HostAddress);
        Assert.Equal("coap://198.51.100.1:61616/a", ipv4.ToString());

        // "1.2.3" and "256.1.1.1" are reg-names in RFC 3986's grammar, not IPv4addresses.
        Assert.Null(CoapUri.Parse("coap://1.2.3/").HostAddress);
        Assert.Null(CoapUri.Parse("coap://256.1.1.1/").HostAddress);
        Assert.Null(CoapUri.Parse("coap://Sensor-1.Example.ORG/").HostAddress);
        Assert.Equal("sensor-1.example.org", CoapUri.Parse("coap://Sensor-1.Example.ORG/").Host);
    }

    [Fact]
    public void Ipv6Zone_IsPercent25Encoded()
    {
        var uri = CoapUri.Parse("coap://[fe80::1%2542]:1234/x");
        Assert.Equal("fe80::1%42", uri.Host);
        Assert.Equal(42, uri.HostAddress!.ScopeId);
        Assert.Equal("coap://[fe80::1%2542]:1234/x", uri.ToString());

        var named = CoapUri.Parse("coap://[fe80::1%25eth0]/");
        Assert.Equal("fe80::1%eth0", named.Host);
        Assert.Equal("coap://[fe80::1%25eth0]/", named.ToString());
    }

    [Fact]
    public void PercentEncodedSlash_StaysInsideOneSegment()
    {
        var uri = CoapUri.Parse("coap://h/a%2Fb/c");

        Assert.Equal(["a/b", "c"], uri.PathSegments);
        Assert.Equal(["a/b", "c"], uri.ApplyTo(new CoapMessage()).UriPathSegments);
        Assert.Equal("coap://h/a%2Fb/c", uri.ToString());
    }

    [Fact]
    public void Query_AmpersandSeparatesOptions_EncodedAmpersandDoesNot()
    {
        var uri = CoapUri.Parse("coap://h/p?rt=temp&if=core.s&x=a%26b&%3Fq=/?");

        Assert.Equal(["rt=temp", "if=core.s", "x=a&b", "?q=/?"], uri.QueryParts);
        CoapMessage request = uri.ApplyTo(new CoapMessage { Code = CoapCode.Get });
        Assert.Equal(["rt=temp", "if=core.s", "x=a&b", "?q=/?"], request.UriQuery);
        Assert.Equal("coap://h/p?rt=temp&if=core.s&x=a%26b&?q=/?", uri.ToString());
    }

    [Fact]
    public void EmptyPathAndSlash_GiveNoUriPath_TrailingSlashGivesAnEmptySegment()
    {
        Assert.Empty(CoapUri.Parse("coap://h").PathSegments);
        Assert.Empty(CoapUri.Parse("coap://h/").PathSegments);
        Assert.Equal(CoapUri.Parse("coap://h"), CoapUri.Parse("coap://h/"));
        Assert.Equal(["a", ""], CoapUri.Parse("coap://h/a/").PathSegments);
        Assert.Equal(["", ""], CoapUri.Parse("coap://h//").PathSegments);
        Assert.Equal(["x"], CoapUri.Parse("coap://h?x").QueryParts);
        Assert.Equal([""], CoapUri.Parse("coap://h/?").QueryParts);
    }

    [Fact]
    public void PercentEncodingDecodesToUtf8()
    {
        var uri = CoapUri.Parse("coap://xn--18j4d.example/%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF");
        Assert.Equal(["こんにちは"], uri.PathSegments);
        Assert.Equal("coap://xn--18j4d.example/%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF", uri.ToString());
    }

    [Fact]
    public void DotSegmentsAreResolved()
    {
        Assert.Equal(["a", "c"], CoapUri.Parse("coap://h/a/./b/../c").PathSegments);
        Assert.Equal(["c"], CoapUri.Parse("coap://h/../../c").PathSegments);
        Assert.Equal(["a", ""], CoapUri.Parse("coap://h/a/b/..").PathSegments);
        Assert.Equal(["a.b", "..c"], CoapUri.Parse("coap://h/a.b/..c").PathSegments);
    }

    [Fact]
    public void ToString_PercentEncodesReservedCharactersInUppercase()
    {
        var request = new CoapMessage { Code = CoapCode.Get }
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriPath, "a b?#[]%"))
            .WithOption(CoapOption.FromString(CoapOptionNumber.UriPath, "k:v@x!$'()*+,;="))
            .WithUriQuery("q=a b&c#");

        string text = CoapUri.FromOptions(request, "coap", "h", 5683);

        Assert.Equal("coap://h/a%20b%3F%23%5B%5D%25/k:v@x!$'()*+,;=?q=a%20b%26c%23", text);
        var reparsed = CoapUri.Parse(text);
        Assert.Equal(["a b?#[]%", "k:v@x!$'()*+,;="], reparsed.PathSegments);
        Assert.Equal(["q=a b&c#"], reparsed.QueryParts);
    }

    [Theory]
    [InlineData("", "not an absolute URI")]
    [InlineData("/path", "not an absolute URI")]
    [InlineData("example.com/x", "not an absolute URI")]
    [InlineData("//example.com/x", "not an absolute URI")]
    [InlineData("1coap://h/", "not an absolute URI")]
    [InlineData("http://example.com/", "neither coap nor coaps")]
    [InlineData("coap+tcp://example.com/", "neither coap nor coaps")]
    [InlineData("coap://example.com/a#frag", "fragment")]
    [InlineData("coap://example.com#", "fragment")]
    [InlineData("coap:example.com/a", "authority")]
    [InlineData("coap:/example.com/a", "authority")]
    [InlineData("coap:///a", "host is empty")]
    [InlineData("coap://:5683/a", "host is empty")]
    [InlineData("coap://user@h/", "user information")]
    [InlineData("coap://h:port/", "not a decimal number")]
    [InlineData("coap://h:-1/", "not a decimal number")]
    [InlineData("coap://h:65536/", "greater than 65535")]
    [InlineData("coap://h:99999999999/", "greater than 65535")]
    [InlineData("coap://h:0/", "port 0")]
    [InlineData("coap://[::1/", "closing ']'")]
    [InlineData("coap://[::1]x/", "may follow the IPv6 literal")]
    [InlineData("coap://[1.2.3.4]/", "not an IPv6 address")]
    [InlineData("coap://[example]/", "not an IPv6 address")]
    [InlineData("coap://[]/", "not an IPv6 address")]
    [InlineData("coap://[v1.x]/", "IPvFuture")]
    [InlineData("coap://[fe80::1%eth0]/", "RFC 6874")]
    [InlineData("coap://::1/", "enclosed in brackets")]
    [InlineData("coap://2001:db8::1:5683/", "enclosed in brackets")]
    [InlineData("coap://h/a b", "contains ' '")]
    [InlineData("coap://h/a%2", "two hexadecimal digits")]
    [InlineData("coap://h/a%zz", "two hexadecimal digits")]
    [InlineData("coap://h/%FF", "UTF-8")]
    [InlineData("coap://h/ä", "U+00E4")]
    [InlineData("coap://h/a?b c", "query contains ' '")]
    [InlineData("coap://h/a?x=%C3", "UTF-8")]
    [InlineData("coap://h%20x/", "registered name")]
    [InlineData("coap://h_<x>/", "host contains '<'")]
    [InlineData(" coap://h/", "not an absolute URI")]
    public void InvalidUris_AreRejectedWithAClearMessage(string text, string expected)
    {
        var ex = Assert.Throws<CoapProtocolException>(() => CoapUri.Parse(text));
        Assert.Equal(CoapError.InvalidUri, ex.Error);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.False(CoapUri.TryParse(text, out var uri));
        Assert.Null(uri);
    }

    [Fact]
    public void OverlongComponents_AreRejected()
    {
        string segment = new('s', 256);
        Assert.Throws<CoapProtocolException>(() => CoapUri.Parse($"coap://h/{segment}"));
        Assert.Throws<CoapProtocolException>(() => CoapUri.Parse($"coap://h/?{segment}"));
        Assert.Throws<CoapProtocolException>(() => CoapUri.Parse($"coap://{segment}/"));
        Assert.Equal(255, CoapUri.Parse($"coap://h/{segment[1..]}").PathSegments[0].Length);
    }

    [Fact]
    public void TryParse_Null_IsFalse()
    {
        Assert.False(CoapUri.TryParse(null, out var uri));
        Assert.Null(uri);
        Assert.True(CoapUri.TryParse("COAPS://H/", out uri));
        Assert.Equal("coaps://h/", uri.ToString());
    }

    [Fact]
    public void SchemesAreDistinctOrigins()
    {
        Assert.NotEqual(CoapUri.Parse("coap://h:5684/"), CoapUri.Parse("coaps://h/"));
        Assert.NotEqual(CoapUri.Parse("coap://h/a"), CoapUri.Parse("coap://h/A"));
    }
}
