namespace CoapEnroll.Coap.Tests.Messages;

public class CoapOptionCollectionTests
{
    private static CoapOptionCollection Sample() => CoapOptionCollection.Create(
    [
        CoapOption.FromString(CoapOptionNumber.UriPath, "a"),
        CoapOption.FromString(CoapOptionNumber.UriHost, "h"),
        CoapOption.FromString(CoapOptionNumber.UriPath, "b"),
        CoapOption.FromUInt(CoapOptionNumber.ContentFormat, 50),
        CoapOption.FromString(CoapOptionNumber.UriQuery, "q=1"),
        CoapOption.FromString(CoapOptionNumber.UriQuery, "q=2"),
    ]);

    private static int[] Numbers(CoapOptionCollection options) => [.. options.Select(o => o.Number)];

    [Fact]
    public void Remove_TakesOutEveryInstanceWherever_TheRunIs()
    {
        var options = Sample();

        Assert.Equal([11, 11, 12, 15, 15], Numbers(options.Remove(CoapOptionNumber.UriHost)));
        Assert.Equal([3, 12, 15, 15], Numbers(options.Remove(CoapOptionNumber.UriPath)));
        Assert.Equal([3, 11, 11, 12], Numbers(options.Remove(CoapOptionNumber.UriQuery)));
        Assert.Equal(["a", "b"], options.Remove(CoapOptionNumber.UriHost).Remove(CoapOptionNumber.ContentFormat).GetStrings(CoapOptionNumber.UriPath));

        // The original is unchanged.
        Assert.Equal([3, 11, 11, 12, 15, 15], Numbers(options));
    }

    [Fact]
    public void Remove_OfAnAbsentNumber_IsTheSameCollection_AndOfTheOnlyOneIsEmpty()
    {
        var options = Sample();
        Assert.Same(options, options.Remove(CoapOptionNumber.Observe));
        Assert.Same(CoapOptionCollection.Empty, CoapOptionCollection.Create([CoapOption.Empty(CoapOptionNumber.IfNoneMatch)]).Remove(CoapOptionNumber.IfNoneMatch));
        Assert.Same(CoapOptionCollection.Empty, CoapOptionCollection.Empty.Remove(CoapOptionNumber.UriPath));
    }

    [Fact]
    public void GetStrings_IsEveryInstanceInOrder()
    {
        Assert.Equal(["q=1", "q=2"], Sample().GetStrings(CoapOptionNumber.UriQuery));
        Assert.Empty(Sample().GetStrings(CoapOptionNumber.LocationPath));
    }
}
