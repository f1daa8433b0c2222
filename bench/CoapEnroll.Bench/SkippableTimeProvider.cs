namespace CoapEnroll.Bench;

/// <summary>
/// The system clock whose timestamps (what idle times are measured with) can be moved ahead by <see cref="Skip"/>; timers still run on
/// the real clock, and wall-clock time (<see cref="GetUtcNow"/>, which certificate validity uses) is not moved. dtls-memory gives it to
/// its server so that, after the mass close, the sessions whose close_notify was lost reach the product's idle timeout without the
/// bench waiting it out: the server's own periodic sweep then evicts them exactly as it would after that much real idle time.
/// </summary>
internal sealed class SkippableTimeProvider : TimeProvider
{
    private long _skipped;

    public override long GetTimestamp() => TimeProvider.System.GetTimestamp() + Interlocked.Read(ref _skipped);

    public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow();

    /// <summary>Moves the timestamps ahead by <paramref name="span"/>.</summary>
    public void Skip(TimeSpan span) => Interlocked.Add(ref _skipped, (long)(span.TotalSeconds * TimestampFrequency));
}
