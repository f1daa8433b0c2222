using System.Net;
using CoapEnroll.Coap.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Coap.Tests.Endpoints;

public class MessageIdAllocatorTests
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(247);

    [Fact]
    public void NoIdIsReusedWithinTheExchangeLifetime_ThenIdsFreeUp()
    {
        var time = new ManualTimeProvider();
        var allocator = new MessageIdAllocator(time, Lifetime);
        var peer = new IPEndPoint(IPAddress.Loopback, 5683);
        var seen = new HashSet<ushort>();

        // Every ID can be handed out once; then the allocator refuses rather than reuse one.
        int allocated = 0;
        while (allocator.TryAllocate(peer, out ushort id, out var retryAfter))
        {
            Assert.True(seen.Add(id), $"Message ID {id} was handed out twice within EXCHANGE_LIFETIME.");
            allocated++;
            Assert.True(allocated <= 65536);
        }

        Assert.InRange(allocated, 65536 - 4096, 65536);
        Assert.False(allocator.TryAllocate(peer, out _, out var wait));
        Assert.InRange(wait, TimeSpan.FromSeconds(246), Lifetime + TimeSpan.FromTicks(1));

        time.Advance(Lifetime + TimeSpan.FromSeconds(1));
        Assert.True(allocator.TryAllocate(peer, out _, out _));
    }

    [Fact]
    public void PeersHaveIndependentSequences()
    {
        var time = new ManualTimeProvider();
        var allocator = new MessageIdAllocator(time, Lifetime);
        var a = new IPEndPoint(IPAddress.Loopback, 1);
        var b = new IPEndPoint(IPAddress.Loopback, 2);
        for (int i = 0; i < 60000; i++)
        {
            Assert.True(allocator.TryAllocate(a, out _, out _));
        }

        Assert.True(allocator.TryAllocate(b, out _, out _));
        Assert.Equal(2, allocator.PeerCount);
        time.Advance(Lifetime + TimeSpan.FromSeconds(1));
        allocator.Sweep(time.GetTimestamp());
        Assert.Equal(0, allocator.PeerCount);
    }

    [Fact]
    public void AtItsBound_TheLeastRecentlyActivePeerIsForgotten_AndCountedWhileWithinTheLifetime()
    {
        var time = new ManualTimeProvider();
        var allocator = new MessageIdAllocator(time, Lifetime, maxPeers: 3);
        var a = new IPEndPoint(IPAddress.Loopback, 1);
        var b = new IPEndPoint(IPAddress.Loopback, 2);
        var c = new IPEndPoint(IPAddress.Loopback, 3);
        var d = new IPEndPoint(IPAddress.Loopback, 4);
        Assert.True(allocator.TryAllocate(a, out ushort firstOfA, out _, out bool evicted));
        Assert.False(evicted);
        Assert.True(allocator.TryAllocate(b, out _, out _, out _));
        Assert.True(allocator.TryAllocate(c, out _, out _, out _));

        // a is used again, so b is now the least recently active: d takes its place.
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(allocator.TryAllocate(a, out ushort secondOfA, out _, out _));
        Assert.True(allocator.TryAllocate(d, out _, out _, out evicted));
        Assert.True(evicted);
        Assert.Equal(3, allocator.PeerCount);
        Assert.Equal(1, allocator.Evicted);

        // a kept its sequence; b starts afresh (and takes c's place, the least recently active now).
        Assert.Equal((ushort)(firstOfA + 1), secondOfA);
        Assert.True(allocator.TryAllocate(a, out ushort thirdOfA, out _, out _));
        Assert.Equal((ushort)(secondOfA + 1), thirdOfA);
        Assert.True(allocator.TryAllocate(b, out _, out _, out evicted));
        Assert.True(evicted);
        Assert.Equal(2, allocator.Evicted);

        // A peer idle for longer than EXCHANGE_LIFETIME that no sweep has removed yet is forgotten without a count: its IDs are free.
        time.Advance(Lifetime + TimeSpan.FromSeconds(1));
        Assert.True(allocator.TryAllocate(a, out _, out _, out _));
        Assert.True(allocator.TryAllocate(b, out _, out _, out _));
        Assert.True(allocator.TryAllocate(c, out _, out _, out evicted));
        Assert.False(evicted);
        Assert.Equal(2, allocator.Evicted);
        Assert.Equal(3, allocator.PeerCount);
    }

    [Fact]
    public void Sweep_ForgetsIdlePeersOldestFirst_AndGivesTheTableBack()
    {
        var time = new ManualTimeProvider();
        var allocator = new MessageIdAllocator(time, Lifetime) { TrimMinimumCapacity = 16 };
        for (int i = 0; i < 3000; i++)
        {
            Assert.True(allocator.TryAllocate(new IPEndPoint(IPAddress.Loopback, 1000 + i), out _, out _));
        }

        time.Advance(TimeSpan.FromSeconds(100));
        var recent = new IPEndPoint(IPAddress.Loopback, 999);
        Assert.True(allocator.TryAllocate(recent, out ushort before, out _));
        Assert.True(allocator.TryAllocate(new IPEndPoint(IPAddress.Loopback, 1000), out _, out _));

        // 247 s after the first 3,000, 147 s after the last two: only those two are left.
        time.Advance(Lifetime - TimeSpan.FromSeconds(99));
        allocator.Sweep(time.GetTimestamp());
        Assert.Equal(2, allocator.PeerCount);
        Assert.True(allocator.TryAllocate(recent, out ushort after, out _));
        Assert.Equal((ushort)(before + 1), after);
        Assert.True(allocator.PeerTableCapacity < 100, $"table capacity {allocator.PeerTableCapacity} after the sweep");
    }
}

