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
}
