namespace CoapEnroll.Coap.Tests.Infrastructure;

/// <summary>Condition polling with generous bounds: a test waits for a state, never for a guessed duration.</summary>
public static class TestWait
{
    /// <summary>The default upper bound: far beyond what any healthy run needs.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Generous);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for: {what}");
            }

            await Task.Delay(2);
        }
    }

    /// <summary>Awaits <paramref name="task"/>, failing the test instead of hanging when it takes longer than the bound.</summary>
    public static Task<T> Bounded<T>(this Task<T> task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Generous);

    public static Task Bounded(this Task task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Generous);
}
