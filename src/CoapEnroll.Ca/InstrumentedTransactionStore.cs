using System.Diagnostics;

namespace CoapEnroll.Ca;

/// <summary>
/// An <see cref="ITransactionStore"/> that times every call of the store it wraps into <c>ca.store.duration</c> as
/// <see cref="InstrumentedCertificateStore"/> does (tag <c>operation</c>: <c>TryAddTransaction</c>, <c>GetTransaction</c>, …; on
/// failure <c>error.type</c>), so that the protocol transactions kept in the CA's store (CMP) are measured with its other calls.
/// It does not own the wrapped store.
/// </summary>
public sealed class InstrumentedTransactionStore : ITransactionStore
{
    private readonly ITransactionStore _inner;

    public InstrumentedTransactionStore(ITransactionStore inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    /// <summary>The store whose calls are timed.</summary>
    public ITransactionStore Inner => _inner;

    /// <summary><paramref name="store"/> itself when it is instrumented already, else wrapped.</summary>
    public static InstrumentedTransactionStore Wrap(ITransactionStore store) =>
        store as InstrumentedTransactionStore ?? new InstrumentedTransactionStore(store);

    public Task<bool> TryAddTransactionAsync(StoredTransaction transaction, CancellationToken cancellationToken) =>
        StoreTimer.TimeAsync("TryAddTransaction", Stopwatch.GetTimestamp(), _inner.TryAddTransactionAsync(transaction, cancellationToken));

    public Task<StoredTransaction?> GetTransactionAsync(string id, CancellationToken cancellationToken) =>
        StoreTimer.TimeAsync("GetTransaction", Stopwatch.GetTimestamp(), _inner.GetTransactionAsync(id, cancellationToken));

    public Task<StoredTransaction?> TryUpdateTransactionAsync(StoredTransaction transaction, CancellationToken cancellationToken) =>
        StoreTimer.TimeAsync("TryUpdateTransaction", Stopwatch.GetTimestamp(), _inner.TryUpdateTransactionAsync(transaction, cancellationToken));

    public Task<int> CloseTransactionsAsync(string owner, string reference, string exceptId, DateTimeOffset forgetAt, CancellationToken cancellationToken) =>
        StoreTimer.TimeAsync("CloseTransactions", Stopwatch.GetTimestamp(), _inner.CloseTransactionsAsync(owner, reference, exceptId, forgetAt, cancellationToken));

    public Task<IReadOnlyList<StoredTransaction>> TakeExpiredTransactionsAsync(string idPrefix, DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        StoreTimer.TimeAsync("TakeExpiredTransactions", Stopwatch.GetTimestamp(), _inner.TakeExpiredTransactionsAsync(idPrefix, now, limit, cancellationToken));
}
