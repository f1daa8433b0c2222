using System.Net;

namespace CoapEnroll.Coap.Tests.Endpoints;

public class DeduplicationCacheTests
{
    private static readonly EndPoint Peer = new IPEndPoint(IPAddress.Loopback, 5683);

    private static EndPoint PeerNumber(int n) => new IPEndPoint(IPAddress.Loopback, 10000 + n);

    private static bool Add(DeduplicationCache cache, EndPoint peer, ushort mid, long now, long expiresAt) =>
        cache.TryAdd(new PeerMessageKey(peer, mid), now, expiresAt, out _, out _);

    [Fact]
    public void Sweep_AfterAPeakOfPeers_GivesTheTablesMemoryBack()
    {
        var cache = new DeduplicationCache(capacity: 100_000, perPeerCapacity: 4);
        for (int i = 0; i < 3000; i++)
        {
            Assert.True(Add(cache, PeerNumber(i), 1, now: 0, expiresAt: 100));
        }

        for (int i = 3000; i < 3100; i++)
        {
            Assert.True(Add(cache, PeerNumber(i), 1, now: 50, expiresAt: 1000));
        }

        int peak = cache.PeerTableCapacity;
        Assert.True(peak >= 3100);

        // Nothing expired yet: the table is full, and a sweep leaves it as it is.
        cache.Sweep(60);
        Assert.Equal(peak, cache.PeerTableCapacity);

        // 3000 peers expire; the 100 left fill under a quarter of the table, which is trimmed to about twice their count.
        cache.Sweep(200);
        Assert.Equal(100, cache.PeerCount);
        Assert.InRange(cache.PeerTableCapacity, 100, 400);

        // The trimmed table still knows its peers' messages and takes new ones.
        Assert.False(Add(cache, PeerNumber(3050), 1, now: 201, expiresAt: 1201));
        Assert.True(Add(cache, PeerNumber(5000), 1, now: 201, expiresAt: 1201));
        Assert.Equal(101, cache.PeerCount);
    }

    [Fact]
    public void Duplicate_WithinLifetime_ReturnsExistingEntry()
    {
        var cache = new DeduplicationCache(10, 10);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 7), now: 0, expiresAt: 100, out var first, out var bound));
        Assert.Equal(DeduplicationBound.None, bound);
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 7), now: 99, expiresAt: 199, out var again, out _));
        Assert.Same(first, again);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void SameMessageId_FromTwoPeers_AreTwoMessages()
    {
        var cache = new DeduplicationCache(10, 10);
        Assert.True(Add(cache, PeerNumber(1), 7, 0, 100));
        Assert.True(Add(cache, PeerNumber(2), 7, 0, 100));
        Assert.False(Add(cache, PeerNumber(1), 7, 1, 101));
        Assert.False(Add(cache, PeerNumber(2), 7, 1, 101));
        Assert.Equal((2, 2), (cache.Count, cache.PeerCount));
    }

    [Fact]
    public void Expired_IsNoDuplicate_EvenBeforeASweep()
    {
        var cache = new DeduplicationCache(10, 10);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 7), 0, 100, out var first, out _));
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 7), 100, 200, out var fresh, out _));
        Assert.NotSame(first, fresh);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void ReusedId_BehindALongerLivedEntry_FindsTheNewestCopy()
    {
        // Message 7 as NON (short life), then 8 as CON (long life), then 7 again once the first 7 expired: the old 7 stays
        // behind 8 in arrival order, and the new 7 must be the one that counts.
        var cache = new DeduplicationCache(10, 10);
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 7), 0, 50, out _, out _));
        Assert.True(Add(cache, Peer, 8, 1, 300));
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 7), 60, 360, out var second, out _));
        Assert.False(cache.TryAdd(new PeerMessageKey(Peer, 7), 61, 361, out var again, out _));
        Assert.Same(second, again);
    }

    [Fact]
    public void PeerBound_ForgetsThatPeersOldest_AndNoOneElses()
    {
        var cache = new DeduplicationCache(capacity: 1000, perPeerCapacity: 4);
        EndPoint quiet = PeerNumber(1), busy = PeerNumber(2);
        Assert.True(Add(cache, quiet, 1, 0, 1000));
        for (ushort mid = 1; mid <= 4; mid++)
        {
            Assert.True(cache.TryAdd(new PeerMessageKey(busy, mid), mid, 1000, out _, out var bound));
            Assert.Equal(DeduplicationBound.None, bound);
        }

        Assert.True(cache.TryAdd(new PeerMessageKey(busy, 5), 5, 1000, out _, out var hit));
        Assert.Equal(DeduplicationBound.Peer, hit);

        // The busy peer forgot its message 1 only; 2..5 are still duplicates, and the quiet peer lost nothing.
        Assert.False(Add(cache, busy, 2, 6, 1000));
        Assert.False(Add(cache, busy, 5, 6, 1000));
        Assert.False(Add(cache, quiet, 1, 6, 1000));
        Assert.True(Add(cache, busy, 1, 7, 1000));
        Assert.Equal(5, cache.Count);
    }

    [Fact]
    public void FloodingPeer_CostsOnlyItself()
    {
        var cache = new DeduplicationCache(capacity: 1000, perPeerCapacity: 64);
        var others = Enumerable.Range(1, 10).Select(PeerNumber).ToArray();
        foreach (EndPoint other in others)
        {
            Assert.True(Add(cache, other, 42, 0, 1_000_000));
        }

        EndPoint flooder = PeerNumber(99);
        for (int i = 0; i < 200_000; i++)
        {
            cache.TryAdd(new PeerMessageKey(flooder, (ushort)i), i, 1_000_000, out _, out var bound);
            Assert.NotEqual(DeduplicationBound.Global, bound);
        }

        Assert.Equal(10 + 64, cache.Count);
        Assert.All(others, other => Assert.False(Add(cache, other, 42, 200_000, 1_000_000)));
    }

    [Fact]
    public void GlobalBound_ForgetsTheLeastRecentlyActivePeersWhole()
    {
        var cache = new DeduplicationCache(capacity: 10, perPeerCapacity: 4);
        for (int p = 1; p <= 2; p++)
        {
            for (ushort mid = 1; mid <= 4; mid++)
            {
                Assert.True(Add(cache, PeerNumber(p), mid, (p * 10) + mid, 1000));
            }
        }

        // Peer 1 sends once more (its oldest goes), so peer 2 becomes the least recently active.
        Assert.True(cache.TryAdd(new PeerMessageKey(PeerNumber(1), 5), 30, 1000, out _, out var bound));
        Assert.Equal(DeduplicationBound.Peer, bound);

        Assert.True(Add(cache, PeerNumber(3), 1, 31, 1000));
        Assert.True(cache.TryAdd(new PeerMessageKey(PeerNumber(3), 2), 32, 1000, out _, out bound));
        Assert.Equal(DeduplicationBound.None, bound);
        Assert.True(cache.TryAdd(new PeerMessageKey(PeerNumber(3), 3), 33, 1000, out _, out bound));
        Assert.Equal(DeduplicationBound.Global, bound);

        Assert.Equal((7, 2), (cache.Count, cache.PeerCount));
        Assert.False(Add(cache, PeerNumber(1), 5, 34, 1000));
        Assert.False(Add(cache, PeerNumber(3), 3, 34, 1000));
        Assert.True(Add(cache, PeerNumber(2), 4, 35, 1000));
    }

    [Fact]
    public void GlobalBound_BelowThePeerBound_MakesTheOnlyPeerForgetItsOwnOldest()
    {
        var cache = new DeduplicationCache(capacity: 2, perPeerCapacity: 10);
        Assert.True(Add(cache, Peer, 1, 0, 100));
        Assert.True(Add(cache, Peer, 2, 1, 100));
        Assert.True(cache.TryAdd(new PeerMessageKey(Peer, 3), 2, 100, out _, out var bound));
        Assert.Equal(DeduplicationBound.Global, bound);
        Assert.Equal(2, cache.Count);
        Assert.False(Add(cache, Peer, 2, 3, 100));
        Assert.True(Add(cache, Peer, 1, 3, 100));
    }

    [Fact]
    public void Sweep_ForgetsPeersWhoseEntriesAllExpired_AndKeepsLiveOnes()
    {
        var cache = new DeduplicationCache(100, 10);
        Assert.True(Add(cache, PeerNumber(1), 1, 0, 100));       // expires at 100
        Assert.True(Add(cache, PeerNumber(2), 1, 0, 300));       // a CON: expires at 300
        Assert.True(Add(cache, PeerNumber(2), 2, 10, 110));      // then a NON: its last message expires first
        Assert.True(Add(cache, PeerNumber(3), 1, 150, 250));

        cache.Sweep(200);

        Assert.Equal((2, 2), (cache.Count, cache.PeerCount));
        Assert.False(Add(cache, PeerNumber(2), 1, 200, 300));
        Assert.False(Add(cache, PeerNumber(3), 1, 200, 300));

        cache.Sweep(300);
        Assert.Equal((0, 0), (cache.Count, cache.PeerCount));
    }

    [Fact]
    public void Sweep_RemovesMoreThanOneBatchOfPeers()
    {
        int peers = (DeduplicationCache.SweepBatch * 2) + 3;
        var cache = new DeduplicationCache(peers + 1, 4);
        for (int p = 0; p < peers; p++)
        {
            Assert.True(Add(cache, PeerNumber(p), 1, p, p + 100));
        }

        cache.Sweep(peers + 100);
        Assert.Equal((0, 0), (cache.Count, cache.PeerCount));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RandomOperations_BehaveLikeTheModel(int seed)
    {
        var random = new Random(seed);
        var cache = new DeduplicationCache(capacity: 24, perPeerCapacity: 8);
        var model = new ModelCache(24, 8);
        long clock = 0;
        for (int step = 0; step < 20_000; step++)
        {
            clock += random.Next(0, 6);
            if (random.Next(20) == 0)
            {
                cache.Sweep(clock);
                model.Sweep(clock);
            }
            else
            {
                var key = new PeerMessageKey(PeerNumber(random.Next(6)), (ushort)random.Next(30));
                long lifetime = random.Next(3) switch { 0 => 60, 1 => 150, _ => 100 };
                bool added = cache.TryAdd(key, clock, clock + lifetime, out var entry, out var bound);
                bool modelAdded = model.TryAdd(key, clock, clock + lifetime, out var modelEntry, out var modelBound);
                Assert.Equal(modelAdded, added);
                Assert.Equal(modelBound, bound);
                Assert.Equal(modelEntry.ExpiresAt, entry.ExpiresAt);
                Assert.Equal(modelEntry.CreatedAt, entry.CreatedAt);
            }

            Assert.Equal(model.Count, cache.Count);
            Assert.Equal(model.PeerCount, cache.PeerCount);
            Assert.True(cache.Count <= 24);
        }
    }

    /// <summary>
    /// The contract of DeduplicationCache, written plainly: a list of entries per peer in arrival order, a list of peers
    /// in order of their last new message, and a sweep that looks at every peer.
    /// </summary>
    private sealed class ModelCache(int capacity, int perPeer)
    {
        private readonly List<(EndPoint Peer, long LastActivity, List<(ushort Id, DeduplicationCache.Entry Entry)> Entries)> _peers = [];
        private long _shortestLifetime = long.MaxValue;

        public int Count => _peers.Sum(p => p.Entries.Count);

        public int PeerCount => _peers.Count;

        public bool TryAdd(PeerMessageKey key, long now, long expiresAt, out DeduplicationCache.Entry entry, out DeduplicationBound bound)
        {
            bound = DeduplicationBound.None;
            int index = _peers.FindIndex(p => p.Peer.Equals(key.Peer));
            var entries = index >= 0 ? _peers[index].Entries : [];
            int newest = entries.FindLastIndex(e => e.Id == key.MessageId);
            if (newest >= 0 && entries[newest].Entry.ExpiresAt > now)
            {
                entry = entries[newest].Entry;
                return false;
            }

            if (index >= 0)
            {
                _peers.RemoveAt(index);
            }

            while (entries.Count > 0 && entries[0].Entry.ExpiresAt <= now)
            {
                entries.RemoveAt(0);
            }

            if (entries.Count == perPeer)
            {
                entries.RemoveAt(0);
                bound = DeduplicationBound.Peer;
            }

            entry = new DeduplicationCache.Entry(now, expiresAt);
            entries.Add((key.MessageId, entry));
            _peers.Add((key.Peer, now, entries));
            _shortestLifetime = Math.Min(_shortestLifetime, expiresAt - now);
            while (Count > capacity)
            {
                if (_peers.Count > 1)
                {
                    _peers.RemoveAt(0);
                }
                else
                {
                    entries.RemoveAt(0);
                }

                bound = DeduplicationBound.Global;
            }

            return true;
        }

        public void Sweep(long now)
        {
            foreach (var peer in _peers.Where(p => now - p.LastActivity >= _shortestLifetime))
            {
                peer.Entries.RemoveAll(e => e.Entry.ExpiresAt <= now);
            }

            _peers.RemoveAll(p => p.Entries.Count == 0);
        }
    }
}
