namespace CoapEnroll.Bench;

/// <summary>
/// A clock whose timestamps the benchmark moves forward (timers stay on real time). Advancing it by a fixed
/// step per request gives a benchmark a steady request rate in "virtual" time, whatever the machine's speed, so
/// the duplicate-detection cache holds a steady number of entries (EXCHANGE_LIFETIME / step) instead of growing
/// with the number of iterations.
/// </summary>
internal sealed class SteppedTimeProvider : TimeProvider
{
    private long _offset;

    public void Advance(long ticks) => _offset += ticks;

    public override long GetTimestamp() => base.GetTimestamp() + Volatile.Read(ref _offset);
}
