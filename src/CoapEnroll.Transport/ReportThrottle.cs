namespace CoapEnroll.Transport;

/// <summary>
/// Lets a log report through at most once per interval and counts the ones held back in between, so that a bound an
/// attacker hits thousands of times a second costs one log line every few seconds. Lock-free: the first caller after the
/// interval wins the report. Shared by the layers that refuse work at a bound (DTLS handshakes, CoAP block-wise and
/// observe, deduplication).
/// </summary>
public sealed class ReportThrottle(TimeSpan interval)
{
    private long _lastReport;
    private long _heldBack;

    /// <summary>The shortest time between two reports.</summary>
    public TimeSpan Interval { get; } = interval;

    /// <summary>True when this event is to be reported, with the events held back since the last report.</summary>
    public bool TryReport(long now, TimeProvider time, out long heldBack)
    {
        long interval = (long)(Interval.TotalSeconds * time.TimestampFrequency);
        long last = Volatile.Read(ref _lastReport);
        if ((last != 0 && now - last < interval) || Interlocked.CompareExchange(ref _lastReport, now, last) != last)
        {
            Interlocked.Increment(ref _heldBack);
            heldBack = 0;
            return false;
        }

        heldBack = Interlocked.Exchange(ref _heldBack, 0);
        return true;
    }
}
