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

    [Fact]
    public void Sweep_RemovesExactlyTheExpiredEntries_OfInterleavedLifetimes()
    {
        var cache = new DeduplicationCache(100);
        for (ushort id = 0; id < 20; id++)
        {
            // CON-like (300) and NON-like (20) entries arriving in turn.
            long lifetime = id % 2 == 0 ? 300 : 20;
            Assert.True(cache.TryAdd(new PeerMessageKey(Peer, id), id, id + lifetime, out _));
        }

        cache.Sweep(now: 30);   // the NON-like entries 1..9 (expiring 21..29) go, 11..19 (31..39) stay
        Assert.Equal(20 - 5, cache.Count);
        cache.Sweep(now: 40);
        Assert.Equal(10, cache.Count);

        // The swept entries have left the arrival queues too, not only those that happened to be at the head.
        Assert.Equal(10, cache.QueuedArrivals);
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 0), 41, 341, out var kept));
        Assert.NotNull(kept);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 1), 41, 61, out _));
    }

    [Fact]
    public void Sweep_RemovesMoreThanOneBatch()
    {
        int count = (DeduplicationCache.SweepBatch * 2) + 10;
        var cache = new DeduplicationCache(count + 1);
        for (int i = 0; i < count; i++)
        {
            Assert.True(cache.TryAdd(new PeerMessageKey(new IPEndPoint(IPAddress.Loopback, 1000 + (i >> 16)), (ushort)i), i, i + 100, out _));
        }

        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 1), count, count + 1000, out _));
        cache.Sweep(now: count + 100);
        Assert.Equal(1, cache.Count);
        Assert.Equal(1, cache.QueuedArrivals);
    }

    [Fact]
    public void Sweep_FindsExpiredEntriesBehindLiveOnes_WhenTimestampsWentBackwards()
    {
        var cache = new DeduplicationCache(100);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 1), 50, 150, out _));
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 2), 10, 110, out _));   // same lifetime, earlier clock
        cache.Sweep(now: 120);
        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 2), 120, 220, out _));
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 1), 120, 220, out _));
    }

    /// <summary>The cache against a plain model of its contract, over random operations: many lifetimes, clocks going back, a full cache.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RandomOperations_BehaveLikeTheModel(int seed)
    {
        var random = new Random(seed);
        var cache = new DeduplicationCache(12, evictableAfter: 45);
        var model = new ModelCache(12, 45);
        long clock = 0;
        for (int step = 0; step < 5000; step++)
        {
            // Mostly forward, now and then back.
            clock = Math.Max(0, clock + random.Next(-3, 10));
            if (random.Next(10) == 0)
            {
                cache.Sweep(clock);
                model.Sweep(clock);
            }
            else
            {
                var key = new PeerMessageKey(Peer, (ushort)random.Next(40));
                long lifetime = random.Next(4) switch { 0 => 20, 1 => 300, 2 => 100, _ => random.Next(1, 400) };
                bool added = cache.TryAdd(key, clock, clock + lifetime, out var entry);
                bool modelAdded = model.TryAdd(key, clock, clock + lifetime, out var modelEntry);
                Assert.Equal(modelAdded, added);
                Assert.Equal(modelEntry is null, entry is null);
                Assert.Equal(modelEntry?.ExpiresAt, entry?.ExpiresAt);
            }

            Assert.Equal(model.Count, cache.Count);
            Assert.Equal(model.Evicted, cache.Evicted);
        }
    }

    /// <summary>The contract of DeduplicationCache, written plainly: one arrival list, sweeps scan everything.</summary>
    private sealed class ModelCache(int capacity, long evictableAfter)
    {
        private readonly Dictionary<PeerMessageKey, DeduplicationCache.Entry> _entries = [];
        private readonly List<(PeerMessageKey Key, DeduplicationCache.Entry Entry)> _arrivals = [];

        public int Count => _entries.Count;

        public long Evicted { get; private set; }

        public bool TryAdd(PeerMessageKey key, long now, long expiresAt, out DeduplicationCache.Entry? entry)
        {
            if (_entries.TryGetValue(key, out entry))
            {
                if (entry.ExpiresAt > now)
                {
                    return false;
                }

                _entries.Remove(key);
            }

            if (_entries.Count >= capacity && !TryEvictOldest(now))
            {
                entry = null;
                return false;
            }

            entry = new DeduplicationCache.Entry(now, expiresAt);
            _entries[key] = entry;
            _arrivals.Add((key, entry));
            return true;
        }

        public void Sweep(long now)
        {
            foreach (var (key, entry) in _entries.Where(p => p.Value.ExpiresAt <= now).Select(p => (p.Key, p.Value)).ToList())
            {
                _entries.Remove(key);
            }
        }

        private bool TryEvictOldest(long now)
        {
            _arrivals.RemoveAll(a => !_entries.TryGetValue(a.Key, out var current) || !ReferenceEquals(current, a.Entry));
            if (_arrivals.Count == 0 || now - _arrivals[0].Entry.CreatedAt < evictableAfter)
            {
                return false;
            }

            _entries.Remove(_arrivals[0].Key);
            _arrivals.RemoveAt(0);
            Evicted++;
            return true;
        }
    }
}
