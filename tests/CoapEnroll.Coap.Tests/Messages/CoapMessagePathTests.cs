namespace CoapEnroll.Coap.Tests.Messages;

/// <summary>
/// <see cref="CoapMessage.UriPathSegments"/> is decoded once per set of options and shared, so it must follow
/// every way a message gets other options, and nobody may change the shared list.
/// </summary>
public class CoapMessagePathTests
{
    [Fact]
    public void UriPathSegments_IsDecodedOnceAndShared()
    {
        var request = MessageAssert.Decode(CoapMessageEncoder.Encode(CoapMessage.CreateRequest(CoapCode.Get, "/a/b")));

        Assert.Same(request.UriPathSegments, request.UriPathSegments);
        Assert.Equal(["a", "b"], request.UriPathSegments);

        // A copy with the same options shares the list; that is safe because the options are the same.
        var copy = request with { MessageId = 7, Payload = new byte[] { 1 } };
        Assert.Same(request.UriPathSegments, copy.UriPathSegments);
    }

    [Fact]
    public void UriPathSegments_FollowsEveryChangeOfTheOptions()
    {
        var request = CoapMessage.CreateRequest(CoapCode.Get, "/a/b");
        Assert.Equal(["a", "b"], request.UriPathSegments);

        Assert.Equal(["c"], request.WithUriPath("/c").UriPathSegments);
        Assert.Equal(["a", "b", "d"], request.WithOption(CoapOption.FromString(CoapOptionNumber.UriPath, "d")).UriPathSegments);
        Assert.Equal(["e"], request.SetOption(CoapOption.FromString(CoapOptionNumber.UriPath, "e")).UriPathSegments);
        Assert.Empty(request.WithoutOption(CoapOptionNumber.UriPath).UriPathSegments);
        Assert.Equal(["f"], (request with { Options = CoapOptionCollection.Create([CoapOption.FromString(CoapOptionNumber.UriPath, "f")]) }).UriPathSegments);

        // Options of other numbers leave the path as it was, in a new collection.
        Assert.Equal(["a", "b"], request.WithContentFormat(CoapContentFormat.Json).UriPathSegments);
        Assert.Equal("a/b", request.UriPath);

        // And the original kept its own.
        Assert.Equal(["a", "b"], request.UriPathSegments);
    }

    [Fact]
    public void UriPathSegments_CannotBeChangedThroughTheSharedList()
    {
        var request = CoapMessage.CreateRequest(CoapCode.Get, "/a");
        IReadOnlyList<string> segments = request.UriPathSegments;

        Assert.IsNotType<string[]>(segments);
        var list = Assert.IsAssignableFrom<IList<string>>(segments);
        Assert.Throws<NotSupportedException>(() => list[0] = "x");
        Assert.Equal(["a"], request.UriPathSegments);
    }

    [Fact]
    public void UriPathSegments_OfTheRootIsEmpty()
    {
        Assert.Empty(new CoapMessage { Code = CoapCode.Get }.UriPathSegments);
        Assert.Equal(string.Empty, new CoapMessage { Code = CoapCode.Get }.UriPath);
    }

    [Fact]
    public void UriQueryAndLocationPath_AreFreshListsInOrder()
    {
        var message = new CoapMessage { Code = CoapCode.Get }.WithUriQuery("z=1").WithUriQuery("a=2")
            .WithOption(CoapOption.FromString(CoapOptionNumber.LocationPath, "x"))
            .WithOption(CoapOption.FromString(CoapOptionNumber.LocationPath, "y"));

        Assert.Equal(["z=1", "a=2"], message.UriQuery);
        Assert.Equal(["x", "y"], message.LocationPath);
        Assert.Equal(["z=1", "a=2"], message.GetStrings(CoapOptionNumber.UriQuery));
        Assert.Empty(message.GetStrings(CoapOptionNumber.LocationQuery));
    }
}
