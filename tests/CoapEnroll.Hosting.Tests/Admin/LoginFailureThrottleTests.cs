using System.Net;
using CoapEnroll.Hosting;

namespace CoapEnroll.Hosting.Tests.Admin;

/// <summary>The failed-login limits of the operator page: per address (IPv6 by /64), in all, and for a window only.</summary>
public sealed class LoginFailureThrottleTests
{
    private static readonly TimeSpan s_window = TimeSpan.FromMinutes(5);

    [Fact]
    public void AnAddressOverItsLimit_WaitsOutItsWindow_OthersDoNot()
    {
        var time = new ManualTime();
        var throttle = new LoginFailureThrottle(perAddress: 2, global: 100, s_window, time);
        IPAddress attacker = IPAddress.Parse("192.0.2.1");
        throttle.Failed(attacker);
        Assert.Null(throttle.RetryAfter(attacker));
        throttle.Failed(attacker);
        Assert.Equal(s_window, throttle.RetryAfter(attacker));
        Assert.Null(throttle.RetryAfter(IPAddress.Parse("192.0.2.2")));

        // The same host on another address of its /64, and as an IPv4-mapped address.
        var v6 = new LoginFailureThrottle(perAddress: 1, global: 100, s_window, time);
        v6.Failed(IPAddress.Parse("2001:db8:1:2::1"));
        Assert.NotNull(v6.RetryAfter(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.Null(v6.RetryAfter(IPAddress.Parse("2001:db8:1:3::1")));
        throttle.Failed(IPAddress.Parse("::ffff:192.0.2.3"));
        throttle.Failed(IPAddress.Parse("192.0.2.3"));
        Assert.NotNull(throttle.RetryAfter(IPAddress.Parse("192.0.2.3")));

        time.Advance(s_window - TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromSeconds(1), throttle.RetryAfter(attacker));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(throttle.RetryAfter(attacker));
    }

    [Fact]
    public void TheGlobalLimit_StopsEveryAddress_AndASuccessClearsOnlyItsAddress()
    {
        var time = new ManualTime();
        var throttle = new LoginFailureThrottle(perAddress: 3, global: 4, s_window, time);
        IPAddress a = IPAddress.Parse("198.51.100.1"), b = IPAddress.Parse("198.51.100.2");
        throttle.Failed(a);
        throttle.Failed(a);
        throttle.Succeeded(a);
        throttle.Failed(b);
        Assert.Null(throttle.RetryAfter(a));
        throttle.Failed(b);
        Assert.NotNull(throttle.RetryAfter(IPAddress.Parse("203.0.113.7")));
        time.Advance(s_window);
        Assert.Null(throttle.RetryAfter(IPAddress.Parse("203.0.113.7")));
        throttle.Failed(b);
        Assert.Null(throttle.RetryAfter(b));
    }

    [Fact]
    public void Sessions_AreBoundedInNumber_AndEndAtTheirExpiry()
    {
        var time = new ManualTime();
        var sessions = new AdminSessions(max: 2, TimeSpan.FromMinutes(30), time);
        (AdminSession first, string firstCookie) = sessions.Create("ops")!.Value;
        Assert.NotNull(sessions.Create("ops"));
        Assert.Null(sessions.Create("ops"));
        Assert.Same(first, sessions.Find(firstCookie));
        Assert.Null(sessions.Find(firstCookie[..^1] + (firstCookie[^1] == 'A' ? 'B' : 'A')));

        sessions.Remove(first);
        Assert.Null(sessions.Find(firstCookie));
        (_, string third) = sessions.Create("ops")!.Value;
        time.Advance(TimeSpan.FromMinutes(30));
        Assert.Null(sessions.Find(third));
        Assert.NotNull(sessions.Create("ops"));
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
