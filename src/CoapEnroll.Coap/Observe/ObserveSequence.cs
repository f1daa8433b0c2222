namespace CoapEnroll.Coap;

/// <summary>
/// The sequence numbers in the Observe option of one observation (RFC 7641 §4.4), and the client's
/// freshness rule for them (§3.4). Values are the 24 least significant bits of a strictly increasing
/// number; ordering is 24-bit serial arithmetic (RFC 1982).
/// </summary>
internal sealed class ObserveSequence
{
    /// <summary>Observe values are 24-bit (RFC 7641 §4.4).</summary>
    public const uint Mask = 0xFFFFFF;

    /// <summary>2^23: half the 24-bit space, the limit of serial-number comparison.</summary>
    public const uint Half = 0x800000;

    /// <summary>§3.4: after 128 s without a notification, any new one is taken as fresher.</summary>
    public static readonly TimeSpan FreshnessWindow = TimeSpan.FromSeconds(128);

    /// <summary>
    /// Clock ticks per second for the clock part of the sequence: 2^22 per 256 s, half of what §4.4
    /// permits (2^23 per 256 s), which leaves the other half for the +1 steps of back-to-back notifications.
    /// </summary>
    private const double TicksPerSecond = (1 << 22) / 256.0;

    private readonly Lock _lock = new();
    private uint _last;

    /// <summary>A sequence whose first value is the clock value <paramref name="clock"/>.</summary>
    public ObserveSequence(uint clock) => _last = (clock - 1) & Mask;

    /// <summary>The value last handed out.</summary>
    public uint Current
    {
        get
        {
            lock (_lock)
            {
                return _last;
            }
        }
    }

    /// <summary>
    /// The 24-bit clock value for <paramref name="elapsed"/> since an origin. Starting each sequence from
    /// the clock keeps a new registration's numbers above those of an earlier one with the same token.
    /// </summary>
    public static uint ClockValue(TimeSpan elapsed) => (uint)((long)(elapsed.TotalSeconds * TicksPerSecond) & Mask);

    /// <summary>
    /// The next value: the later of "last + 1" and the clock, so the sequence strictly increases
    /// (§4.4) however the clock and notifications interleave.
    /// </summary>
    public uint Next(uint clock)
    {
        lock (_lock)
        {
            uint candidate = (_last + 1) & Mask;
            if (IsNewer(clock & Mask, candidate))
            {
                candidate = clock & Mask;
            }

            _last = candidate;
            return candidate;
        }
    }

    /// <summary>True when <paramref name="v2"/> is after <paramref name="v1"/> in 24-bit serial arithmetic (§3.4, first two conditions).</summary>
    public static bool IsNewer(uint v2, uint v1)
    {
        v1 &= Mask;
        v2 &= Mask;
        return (v1 < v2 && v2 - v1 < Half) || (v1 > v2 && v1 - v2 > Half);
    }

    /// <summary>
    /// RFC 7641 §3.4: an incoming notification with value <paramref name="v2"/> is fresher than the
    /// freshest so far, <paramref name="v1"/>, received <paramref name="elapsed"/> earlier, when
    /// (V1 &lt; V2 and V2 - V1 &lt; 2^23) or (V1 &gt; V2 and V1 - V2 &gt; 2^23) or (T2 &gt; T1 + 128 s).
    /// </summary>
    public static bool IsFresher(uint v1, uint v2, TimeSpan elapsed) => IsNewer(v2, v1) || elapsed > FreshnessWindow;
}
