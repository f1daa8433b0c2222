using System.Runtime.CompilerServices;

namespace CoapEnroll.Coap;

/// <summary>
/// What <see cref="CoapRequestContext.ContinueOnThreadPoolAsync"/> returns: awaiting it continues on the thread pool, unless the
/// request is there already. The hop is queued by the awaiter itself, when the caller awaits: a task that completes on the pool
/// could complete before its caller checks it, and the caller would then go on on the receiving thread.
/// </summary>
public readonly struct ThreadPoolHop : ICriticalNotifyCompletion
{
    private readonly bool _stay;

    internal ThreadPoolHop(bool stay) => _stay = stay;

    /// <summary>True when the request is on the pool already and awaiting does not move it.</summary>
    public bool IsCompleted => _stay;

    /// <summary>Returns this value as its own awaiter.</summary>
    public ThreadPoolHop GetAwaiter() => this;

    /// <summary>Ends the await; there is no result.</summary>
    public void GetResult()
    {
    }

    /// <inheritdoc/>
    public void OnCompleted(Action continuation) =>
        ThreadPool.QueueUserWorkItem(static action => action(), continuation, preferLocal: false);

    /// <inheritdoc/>
    public void UnsafeOnCompleted(Action continuation) =>
        ThreadPool.UnsafeQueueUserWorkItem(static action => action(), continuation, preferLocal: false);
}
