using System.Net;

namespace CoapEnroll.Coap.Tests.Endpoints;

public class DeduplicationCacheTests
{
    private static readonly EndPoint Peer = new IPEndPoint(IPAddress.Loopback, 5683);

    [Fact]
    public void Duplicate_WithinLifetime_ReturnsExistingEntry()
    {
        var cache = new DeduplicationCache(10);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 7), now: 0, expiresAt: 100, out var first));
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 7), now: 99, expiresAt: 199, out var again));
        Assert.Same(first, again);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Expired_IsNoDuplicate_EvenBeforeASweep()
    {
        var cache = new DeduplicationCache(10);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 7), 0, 100, out var first));
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 7), 100, 200, out var fresh));
        Assert.NotSame(first, fresh);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Full_RefusesUntilSweepFreesExpiredEntries()
    {
        var cache = new DeduplicationCache(2);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 1), 0, 10, out _));
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 2), 0, 50, out _));
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 3), 5, 60, out var refused));
        Assert.Null(refused);

        cache.Sweep(now: 10);
        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 3), 10, 60, out _));
        Assert.Equal(2, cache.Count);
    }
}
