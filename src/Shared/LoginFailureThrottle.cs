using System.Net;
using System.Net.Sockets;

namespace CoapEnroll;

/// <summary>
/// Counts failed logins (the operator page's, EST's HTTP Basic) per address (an IPv6 address by its /64, which one host usually holds whole) and over all
/// addresses, in fixed windows; an address over its limit, or everyone once the global limit is reached, is refused without the
/// password being checked until its window ends. The table holds only addresses that failed in a window that has not ended, and
/// no more of them than the global limit, because a failure is counted only while the global limit is not reached. Linked into
/// each assembly that checks passwords (the host's operator page, EST over HTTPS), which share no assembly that could hold it.
/// </summary>
internal sealed class LoginFailureThrottle
{
    private readonly int _perAddress;
    private readonly int _global;
    private readonly TimeSpan _window;
    private readonly TimeProvider _time;
    private readonly Dictionary<IPAddress, Window> _addresses = [];
    private readonly Lock _lock = new();
    private Window _all;

    public LoginFailureThrottle(int perAddress, int global, TimeSpan window, TimeProvider time)
    {
        _perAddress = perAddress;
        _global = global;
        _window = window;
        _time = time;
    }

    /// <summary>When <paramref name="address"/> may try again, or null when it may try now.</summary>
    public TimeSpan? RetryAfter(IPAddress address)
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock)
        {
            if (_all.Failures >= _global && now < _all.Start + _window)
            {
                return _all.Start + _window - now;
            }

            return _addresses.TryGetValue(Key(address), out Window w) && w.Failures >= _perAddress && now < w.Start + _window
                ? w.Start + _window - now
                : null;
        }
    }

    /// <summary>Counts a failed login from <paramref name="address"/>.</summary>
    public void Failed(IPAddress address)
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock)
        {
            if (now >= _all.Start + _window)
            {
                _all = new Window(now, 0);
                foreach (KeyValuePair<IPAddress, Window> expired in _addresses.Where(a => now >= a.Value.Start + _window).ToList())
                {
                    _addresses.Remove(expired.Key);
                }
            }

            if (_all.Failures >= _global)
            {
                return;
            }

            _all = _all with { Failures = _all.Failures + 1 };
            IPAddress key = Key(address);
            _addresses[key] = _addresses.TryGetValue(key, out Window w) && now < w.Start + _window ? w with { Failures = w.Failures + 1 } : new Window(now, 1);
        }
    }

    /// <summary>Forgets <paramref name="address"/>'s failures after it logged in (the global count stays).</summary>
    public void Succeeded(IPAddress address)
    {
        lock (_lock)
        {
            _addresses.Remove(Key(address));
        }
    }

    private static IPAddress Key(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        byte[] bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }

    private readonly record struct Window(DateTimeOffset Start, int Failures);
}
