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

    [Fact]
    public void Full_EvictsTheOldestEntryOnceItIsPastTheTransmitSpan()
    {
        var cache = new DeduplicationCache(2, evictableAfter: 45);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 1), 0, 247, out _));
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 2), 10, 257, out _));

        // Both still within the span in which their senders may retransmit: refused, nothing given up.
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 3), 44, 291, out var refused));
        Assert.Null(refused);
        Assert.Equal(0, cache.Evicted);

        // Message 1 is 45 ticks old: it makes room, message 2 (35 old) stays a duplicate.
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 3), 45, 292, out _));
        Assert.Equal(1, cache.Evicted);
        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 2), 46, 293, out var duplicate));
        Assert.NotNull(duplicate);
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 4), 46, 293, out refused));
        Assert.Null(refused);
    }

    [Fact]
    public void Eviction_SkipsEntriesAlreadySweptOrReplaced_AndKeepsArrivalOrder()
    {
        var cache = new DeduplicationCache(3, evictableAfter: 45);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 1), 0, 20, out _));   // a short-lived (NON-like) entry
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 2), 1, 300, out _));
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 3), 2, 300, out _));
        cache.Sweep(now: 30);                                                   // 1 expires
        Assert.Equal(2, cache.Count);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 1), 31, 300, out _)); // the ID comes back, newest now
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 4), 100, 400, out _));   // full: evicts 2, the oldest live entry

        Assert.Equal(1, cache.Evicted);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 2), 101, 401, out _)); // 2 was given up; 3 makes room now
        Assert.Equal(2, cache.Evicted);
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 1), 101, 401, out var stillThere));
        Assert.NotNull(stillThere);
    }

    [Fact]
    public void ArrivalQueue_StaysBounded_UnderChurnWithoutEviction()
    {
        var cache = new DeduplicationCache(100, evictableAfter: 45);
        for (int round = 0; round < 1000; round++)
        {
            for (ushort id = 0; id < 50; id++)
            {
                Assert.True(cache.TryAdd(new PeerMessageKey(Peer, (ushort)(round * 50 + id)), round * 10, round * 10 + 5, out _));
            }

            cache.Sweep(round * 10 + 5);
            Assert.Equal(0, cache.Count);
        }

        Assert.True(cache.QueuedArrivals <= 100, $"{cache.QueuedArrivals} stale arrivals kept");
    }
}
