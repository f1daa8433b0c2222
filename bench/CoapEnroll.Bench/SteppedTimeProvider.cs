using System.Diagnostics;

namespace CoapEnroll.Bench;

/// <summary>
/// A clock that only the benchmark moves: timestamps start at the real clock's and advance by what
/// <see cref="Advance"/> adds, and timers fire when that clock passes their due time, on the thread that advances
/// it. Advancing it by a fixed step per request gives a benchmark a steady request rate in virtual time whatever
/// the machine's speed, so the endpoint's periodic sweep runs every so many requests and the duplicate-detection
/// cache holds a steady number of entries (EXCHANGE_LIFETIME / step).
/// </summary>
internal sealed class SteppedTimeProvider : TimeProvider
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly List<VirtualTimer> _timers = [];
    private readonly Lock _lock = new();
    private long _elapsed;
    private long _nextDue = long.MaxValue;

    public override long GetTimestamp() => _start + Volatile.Read(ref _elapsed);

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow;

    /// <summary>Moves the clock and runs the callbacks of the timers that became due.</summary>
    public void Advance(long ticks)
    {
        long now = _start + Interlocked.Add(ref _elapsed, ticks);
        if (now < Volatile.Read(ref _nextDue))
        {
            return;
        }

        List<VirtualTimer> due = [];
        lock (_lock)
        {
            long next = long.MaxValue;
            foreach (VirtualTimer timer in _timers)
            {
                if (timer.Due <= now)
                {
                    due.Add(timer);
                    timer.Due = timer.Period > 0 ? now + timer.Period : long.MaxValue;
                }

                next = Math.Min(next, timer.Due);
            }

            _nextDue = next;
        }

        foreach (VirtualTimer timer in due)
        {
            timer.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new VirtualTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    private long ToTicks(TimeSpan span) => span == Timeout.InfiniteTimeSpan ? -1 : (long)(span.TotalSeconds * TimestampFrequency);

    private sealed class VirtualTimer(SteppedTimeProvider clock, TimerCallback callback, object? state) : ITimer
    {
        public long Due { get; set; } = long.MaxValue;

        public long Period { get; set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._lock)
            {
                long due = clock.ToTicks(dueTime);
                Due = due < 0 ? long.MaxValue : clock.GetTimestamp() + due;
                Period = Math.Max(clock.ToTicks(period), 0);
                clock._nextDue = Math.Min(clock._nextDue, Due);
            }

            return true;
        }

        public void Dispose()
        {
            lock (clock._lock)
            {
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
