namespace CoapEnroll;

/// <summary>
/// The wait of a client after a "busy, come back after …" answer (CoAP 5.03/4.29 with Max-Age, HTTP 503/429 with Retry-After),
/// lengthened by a random share of itself so that clients a server refused together do not all come back at the same moment
/// (the EST and CMP clients; linked source, as they share no assembly that could hold it).
/// </summary>
internal static class BusyJitter
{
    /// <summary>Whether <paramref name="share"/> is a usable share, 0 to 1.</summary>
    public static bool IsValid(double share) => share is >= 0 and <= 1;

    /// <summary>
    /// <paramref name="delay"/> plus a random part of up to <paramref name="share"/> of it, in whole milliseconds (a timer's
    /// resolution, so that the wait reported is the wait taken), but never more than <paramref name="left"/> (the client's budget);
    /// <paramref name="delay"/> itself when it does not fit, for the caller to give up.
    /// </summary>
    public static TimeSpan Apply(TimeSpan delay, double share, TimeSpan left)
    {
        if (delay > left)
        {
            return delay;
        }

        TimeSpan spread = delay + TimeSpan.FromMilliseconds(Math.Floor(delay.TotalMilliseconds * Math.Clamp(share, 0, 1) * Random.Shared.NextDouble()));
        return spread > left ? left : spread;
    }
}
