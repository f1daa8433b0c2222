namespace CoapEnroll.Ca;

/// <summary>
/// Open protocol transactions (<see cref="StoredTransaction"/>) in the store that every node of a CA shares: the store, not a
/// node's memory, is what a transaction is, so a message continuing it may reach any node. Each write is one database transaction;
/// implementations must be safe for concurrent use by several processes.
/// </summary>
public interface ITransactionStore
{
    /// <summary>
    /// Adds <paramref name="transaction"/> as version 1; false, and nothing written, when a transaction with its id exists (open, or
    /// closed and not yet expired): of two nodes opening the same id at once, one gets true.
    /// </summary>
    /// <exception cref="ArgumentException">A field is out of range (<see cref="StoredTransaction.MaxIdLength"/>, <see cref="StoredTransaction.MaxDataLength"/>).</exception>
    Task<bool> TryAddTransactionAsync(StoredTransaction transaction, CancellationToken cancellationToken);

    /// <summary>The transaction with this id (open or closed), or null.</summary>
    Task<StoredTransaction?> GetTransactionAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the owner, reference, data, expiry and closed flag of the transaction with <paramref name="transaction"/>'s id if its
    /// version is still <paramref name="transaction"/>'s <see cref="StoredTransaction.Version"/> and it is not closed; returns it
    /// with its new version, or null when it is gone, closed or was changed meanwhile.
    /// </summary>
    Task<StoredTransaction?> TryUpdateTransactionAsync(StoredTransaction transaction, CancellationToken cancellationToken);

    /// <summary>
    /// Closes the open transactions of <paramref name="owner"/> about <paramref name="reference"/> other than <paramref name="exceptId"/>,
    /// to be forgotten at <paramref name="forgetAt"/>; returns how many.
    /// </summary>
    Task<int> CloseTransactionsAsync(string owner, string reference, string exceptId, DateTimeOffset forgetAt, CancellationToken cancellationToken);

    /// <summary>
    /// Removes and returns up to <paramref name="limit"/> transactions whose id starts with <paramref name="idPrefix"/> (a protocol's
    /// own) and whose expiry is at or before <paramref name="now"/>, oldest first: each to exactly one caller, whichever node asks first.
    /// </summary>
    Task<IReadOnlyList<StoredTransaction>> TakeExpiredTransactionsAsync(string idPrefix, DateTimeOffset now, int limit, CancellationToken cancellationToken);
}
