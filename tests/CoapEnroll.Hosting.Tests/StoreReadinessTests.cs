using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Hosting.Tests;

/// <summary>The readiness check behind /readyz: an answer within the timeout, a failure's reason, one query at a time.</summary>
public sealed class StoreReadinessTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMilliseconds(300);

    private static StoreReadiness Create(Func<CancellationToken, Task> query, TimeSpan? timeout = null) =>
        new(query, timeout ?? s_timeout, TimeProvider.System, NullLogger<StoreReadiness>.Instance);

    [Fact]
    public async Task A_store_that_answers_is_ready()
    {
        // A timeout no loaded test machine reaches: only the answer is under test here (0.3 s failed once at load average 30).
        StoreReadiness readiness = Create(_ => Task.CompletedTask, TimeSpan.FromSeconds(30));
        Assert.Null(await readiness.CheckAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_failing_store_is_not_ready_with_the_first_line_of_its_error()
    {
        StoreReadiness readiness = Create(_ => throw new InvalidDataException("file is not a database\nat page 1"), TimeSpan.FromSeconds(30));
        string? reason = await readiness.CheckAsync(CancellationToken.None);
        Assert.Equal("the store failed: InvalidDataException: file is not a database", reason);
    }

    [Fact]
    public async Task An_unreachable_CA_key_is_not_ready_and_says_so()
    {
        StoreReadiness readiness = Create(_ => throw new Ca.CaKeyUnavailableException("the session to token 'ca' was lost (CKR_DEVICE_REMOVED); reconnecting"),
            TimeSpan.FromSeconds(30));
        Assert.Equal("the CA key is unavailable: the session to token 'ca' was lost (CKR_DEVICE_REMOVED); reconnecting",
            await readiness.CheckAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_store_that_honours_cancellation_is_not_ready_after_the_timeout()
    {
        StoreReadiness readiness = Create(cancellationToken => Task.Delay(Timeout.Infinite, cancellationToken));
        Assert.Equal("the store did not answer within 0.3 s", await readiness.CheckAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_stuck_store_holds_one_query_which_later_checks_wait_for_instead_of_starting_more()
    {
        var stuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int queries = 0;
        StoreReadiness readiness = Create(_ =>
        {
            Interlocked.Increment(ref queries);
            return stuck.Task; // ignores the token, as a store blocked inside a synchronous call does
        });

        Assert.Equal("the store did not answer within 0.3 s", await readiness.CheckAsync(CancellationToken.None));
        Assert.Equal("the store did not answer within 0.3 s", await readiness.CheckAsync(CancellationToken.None));
        Assert.Equal(1, Volatile.Read(ref queries));

        // Once it answers, checks are ready again, and a check after a finished query makes a new one.
        stuck.SetResult();
        Assert.Null(await readiness.CheckAsync(CancellationToken.None));
        Assert.Null(await readiness.CheckAsync(CancellationToken.None));
        Assert.InRange(Volatile.Read(ref queries), 2, 3);
    }
}
