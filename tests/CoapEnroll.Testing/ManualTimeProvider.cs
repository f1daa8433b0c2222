namespace CoapEnroll.Testing;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock moves only when the test says so. Timers fire, on the
/// caller's thread, when <see cref="Advance"/> passes their due time.
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private static readonly DateTimeOffset s_epoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private long _now;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>How far the clock has been advanced.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks(Volatile.Read(ref _now));

    /// <summary>Timers created so far.</summary>
    public int TimersCreated { get; private set; }

    /// <summary>Armed one-shot timers (those with an infinite period), such as the timeouts of Task.WaitAsync.</summary>
    public int ArmedOneShotTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => t.Period == Timeout.InfiniteTimeSpan);
            }
        }
    }

    public override long GetTimestamp() => Volatile.Read(ref _now);

    public override DateTimeOffset GetUtcNow() => s_epoch + Elapsed;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_lock)
        {
            TimersCreated++;
        }

        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way, in order.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        long target = Volatile.Read(ref _now) + by.Ticks;
        while (true)
        {
            ManualTimer? due;
            lock (_lock)
            {
                due = TakeEarliestLocked(upTo: target);
                if (due is null)
                {
                    Volatile.Write(ref _now, target);
                    return;
                }
            }

            due.Fire();
        }
    }

    /// <summary>Advances exactly to the earliest armed timer and fires it; false when none is armed.</summary>
    /// <remarks>
    /// The timer is chosen and the clock moved under one lock: chosen first and advanced to after, a timer its owner disposed in
    /// between (a timeout armed and disarmed at once) would move the clock with nothing firing, and the code under test would see
    /// time pass that it never waited for.
    /// </remarks>
    public bool AdvanceToNextTimer()
    {
        ManualTimer? due;
        lock (_lock)
        {
            due = TakeEarliestLocked(upTo: long.MaxValue);
        }

        due?.Fire();
        return due is not null;
    }

    /// <summary>
    /// The earliest armed timer due at <paramref name="upTo"/> or before, with the clock moved to its due time and the timer
    /// disarmed (one-shot) or moved to its next period; null when none is due.
    /// </summary>
    private ManualTimer? TakeEarliestLocked(long upTo)
    {
        ManualTimer? due = _timers.Where(t => t.DueAt <= upTo).MinBy(t => t.DueAt);
        if (due is null)
        {
            return null;
        }

        Volatile.Write(ref _now, Math.Max(_now, due.DueAt));
        if (due.Period == Timeout.InfiniteTimeSpan || due.Period <= TimeSpan.Zero)
        {
            _timers.Remove(due);
        }
        else
        {
            due.DueAt += due.Period.Ticks;
        }

        return due;
    }

    /// <summary>
    /// Awaits <paramref name="operation"/> while moving the clock to each timer it arms (its waits on this clock), so that an
    /// operation that waits seconds on this clock ends at once; polls every 10 ms of real time while no timer is armed.
    /// </summary>
    public async Task<T> RunAsync<T>(Task<T> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        while (!operation.IsCompleted)
        {
            if (!AdvanceToNextTimer())
            {
                await Task.WhenAny(operation, Task.Delay(10));
            }
        }

        return await operation;
    }

    private void Arm(ManualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
            if (dueTime == Timeout.InfiniteTimeSpan)
            {
                return;
            }

            timer.DueAt = _now + dueTime.Ticks;
            timer.Period = period;
            _timers.Add(timer);
        }
    }

    private void Disarm(ManualTimer timer)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long DueAt { get; set; }

        public TimeSpan Period { get; set; } = Timeout.InfiniteTimeSpan;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Arm(this, dueTime, period);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose() => owner.Disarm(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
