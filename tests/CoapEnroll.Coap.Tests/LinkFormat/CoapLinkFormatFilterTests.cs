using CoapEnroll.Coap;

namespace CoapEnroll.Coap.Tests.LinkFormat;

/// <summary>RFC 6690 §4.1 query filtering.</summary>
public class CoapLinkFormatFilterTests
{
    private static readonly CoapResourceDescription[] s_resources =
    [
        new("/sensors") { ContentFormats = [40], Title = "Sensor Index" },
        new("/sensors/temp") { ResourceTypes = ["temperature-c"], Interfaces = ["sensor"], Observable = true },
        new("/sensors/light") { ResourceTypes = ["light-lux", "core.sen-light"], Interfaces = ["sensor"] },
        new("/firmware/v2.1") { ResourceTypes = ["firmware"], MaximumSize = 262144, ContentFormats = [42, 60] },
        new("/t") { Attributes = [new("anchor", "/sensors/temp"), new("rel", "alternate describedby"), new("foo", "barley")] },
    ];

    private static string[] Paths(params string[] query) => CoapLinkFormat.Filter(s_resources, query).Select(r => r.Path).ToArray();

    [Fact]
    public void NoQuery_ReturnsEverything() => Assert.Equal(s_resources.Select(r => r.Path), Paths());

    [Theory]
    [InlineData("rt=light-lux", new[] { "/sensors/light" })]
    [InlineData("rt=core.sen-light", new[] { "/sensors/light" })] // any one of the space-separated values
    [InlineData("rt=light", new string[0])] // complete value strings match bitwise
    [InlineData("rt=light*", new[] { "/sensors/light" })]
    [InlineData("rt=*", new[] { "/sensors/temp", "/sensors/light", "/firmware/v2.1" })] // exists
    [InlineData("rt=temperature-C", new string[0])] // case-sensitive
    [InlineData("if=sensor", new[] { "/sensors/temp", "/sensors/light" })]
    [InlineData("href=/sensors", new[] { "/sensors" })]
    [InlineData("href=/sensors*", new[] { "/sensors", "/sensors/temp", "/sensors/light" })]
    [InlineData("href=/sensors/*", new[] { "/sensors/temp", "/sensors/light" })]
    [InlineData("ct=40", new[] { "/sensors" })]
    [InlineData("ct=60", new[] { "/firmware/v2.1" })]
    [InlineData("ct=4*", new[] { "/sensors", "/firmware/v2.1" })]
    [InlineData("sz=262144", new[] { "/firmware/v2.1" })]
    [InlineData("title=Sensor Index", new[] { "/sensors" })]
    [InlineData("title=Sensor*", new[] { "/sensors" })]
    [InlineData("obs", new[] { "/sensors/temp" })]
    [InlineData("obs=*", new[] { "/sensors/temp" })]
    [InlineData("anchor=/sensors/temp", new[] { "/t" })]
    [InlineData("rel=describedby", new[] { "/t" })]
    [InlineData("foo=bar", new string[0])]
    [InlineData("foo=bar*", new[] { "/t" })] // RFC 6690 §4.1: "bar" or "barley"
    [InlineData("FOO=barley", new[] { "/t" })] // names are case-insensitive
    [InlineData("unknown=*", new string[0])]
    [InlineData("unknown", new string[0])]
    public void SingleFilter(string query, string[] expected) => Assert.Equal(expected, Paths(query));

    [Fact]
    public void SeveralFilters_MustAllMatch()
    {
        Assert.Equal(["/sensors/temp"], Paths("if=sensor", "obs"));
        Assert.Equal(["/sensors/light"], Paths("href=/sensors/*", "rt=light*"));
        Assert.Empty(Paths("ct=40", "rt=*"));
    }

    [Fact]
    public void FilterValuesAreNotPercentDecodedAgain()
    {
        // The Uri-Query option already carries the decoded value (RFC 7252 §6.4 step 9).
        var r = new CoapResourceDescription("/x") { Attributes = [new("v", "a%20b")] };
        Assert.True(CoapLinkFormat.Matches(r, "v=a%20b"));
        Assert.False(CoapLinkFormat.Matches(r, "v=a b"));
    }

    [Fact]
    public void FilterFromARequestUri_EndToEnd()
    {
        CoapMessage request = CoapUri.Parse("coap://h/.well-known/core?rt=light-lux").ApplyTo(new CoapMessage { Code = CoapCode.Get });
        string body = CoapLinkFormat.Serialize(CoapLinkFormat.Filter(s_resources, request.UriQuery));
        Assert.Equal("</sensors/light>;rt=\"light-lux core.sen-light\";if=\"sensor\"", body);
    }
}
