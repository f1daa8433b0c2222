using System.Net;

namespace CoapEnroll.Coap.Tests.Server;

/// <summary>Per-peer and total bounds on work in flight: one peer's excess is refused to it alone.</summary>
public sealed class PeerConcurrencyLimiterTests
{
    private static readonly IPEndPoint s_a = new(IPAddress.Loopback, 1000);
    private static readonly IPEndPoint s_aOtherPort = new(IPAddress.Loopback, 1001);
    private static readonly IPEndPoint s_b = new(IPAddress.Parse("192.0.2.7"), 1000);

    [Fact]
    public void A_peer_at_its_bound_is_refused_while_others_still_get_slots()
    {
        var limiter = new PeerConcurrencyLimiter(maxTotal: 10, maxPerPeer: 2);
        using var first = limiter.TryAcquire(s_a);
        using var second = limiter.TryAcquire(new IPEndPoint(IPAddress.Loopback, 1000));
        using var third = limiter.TryAcquire(s_a);

        Assert.True(first.Acquired);
        Assert.True(second.Acquired);
        Assert.Equal(PeerConcurrencyStatus.PeerLimit, third.Status);
        Assert.Equal(2, limiter.Current);

        using var other = limiter.TryAcquire(s_b);
        using var otherPort = limiter.TryAcquire(s_aOtherPort);
        Assert.True(other.Acquired);
        Assert.True(otherPort.Acquired);
        Assert.Equal(4, limiter.Current);
    }

    [Fact]
    public void The_total_bound_refuses_everyone_until_a_slot_is_returned_once()
    {
        var limiter = new PeerConcurrencyLimiter(maxTotal: 2, maxPerPeer: 2);
        var first = limiter.TryAcquire(s_a);
        using var second = limiter.TryAcquire(s_b);
        using var refused = limiter.TryAcquire(s_aOtherPort);
        Assert.Equal(PeerConcurrencyStatus.TotalLimit, refused.Status);

        // A refused lease returns nothing; a granted one returns its slot once, however often it is disposed.
        refused.Dispose();
        Assert.Equal(2, limiter.Current);
        first.Dispose();
        first.Dispose();
        Assert.Equal(1, limiter.Current);

        using var now = limiter.TryAcquire(s_aOtherPort);
        Assert.True(now.Acquired);
        using var full = limiter.TryAcquire(s_a);
        Assert.Equal(PeerConcurrencyStatus.TotalLimit, full.Status);
    }

    [Fact]
    public void Bounds_below_one_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerConcurrencyLimiter(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerConcurrencyLimiter(1, 0));
    }
}
