using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca;

public sealed partial class SqliteCertificateStore
{
    // Created by every version that knows it, as shared_secrets is: a database without it gets it on open, one opened by a program
    // that does not know it ignores it.
    private const string TransactionSchema = """
        CREATE TABLE IF NOT EXISTS protocol_transactions (
            id         TEXT PRIMARY KEY,
            owner      TEXT NOT NULL,
            reference  TEXT,
            data       BLOB NOT NULL,
            expires_at TEXT NOT NULL,
            closed     INTEGER NOT NULL DEFAULT 0,
            version    INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS protocol_transactions_expiry ON protocol_transactions (expires_at);
        CREATE INDEX IF NOT EXISTS protocol_transactions_reference ON protocol_transactions (reference, owner);
        """;

    private const string TransactionColumns = "id, owner, reference, data, expires_at, closed, version";

    /// <inheritdoc/>
    public Task<bool> TryAddTransactionAsync(StoredTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.Validate();
        return WriteAsync(async (connection, dbTransaction, now) => await ExecuteAsync(connection, dbTransaction, $"""
        INSERT INTO protocol_transactions ({TransactionColumns})
        VALUES ($id, $owner, $reference, $data, $expires, $closed, 1)
        ON CONFLICT (id) DO NOTHING;
        """, cancellationToken, ("$id", transaction.Id), ("$owner", transaction.Owner), ("$reference", transaction.Reference), ("$data", transaction.Data),
        ("$expires", Format(transaction.ExpiresAt)), ("$closed", transaction.Closed ? 1 : 0)) == 1, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<StoredTransaction?> GetTransactionAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        List<StoredTransaction> rows = await QueryAsync(lease.Connection, null, $"SELECT {TransactionColumns} FROM protocol_transactions WHERE id = $id;",
            ReadTransaction, cancellationToken, ("$id", id));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public Task<StoredTransaction?> TryUpdateTransactionAsync(StoredTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.Validate();
        return WriteAsync<StoredTransaction?>(async (connection, dbTransaction, now) =>
        {
            int changed = await ExecuteAsync(connection, dbTransaction, """
        UPDATE protocol_transactions
        SET owner = $owner, reference = $reference, data = $data, expires_at = $expires, closed = $closed, version = version + 1
        WHERE id = $id AND version = $version AND closed = 0;
        """, cancellationToken, ("$id", transaction.Id), ("$owner", transaction.Owner), ("$reference", transaction.Reference), ("$data", transaction.Data),
        ("$expires", Format(transaction.ExpiresAt)), ("$closed", transaction.Closed ? 1 : 0), ("$version", transaction.Version));
            return changed == 1 ? transaction with { Version = transaction.Version + 1, ExpiresAt = Truncate(transaction.ExpiresAt) } : null;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<int> CloseTransactionsAsync(string owner, string reference, string exceptId, DateTimeOffset forgetAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(exceptId);
        return WriteAsync(async (connection, dbTransaction, now) => await ExecuteAsync(connection, dbTransaction, """
        UPDATE protocol_transactions SET closed = 1, expires_at = $forget, version = version + 1
        WHERE reference = $reference AND owner = $owner AND id <> $except AND closed = 0;
        """, cancellationToken, ("$forget", Format(forgetAt)), ("$reference", reference), ("$owner", owner), ("$except", exceptId)), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredTransaction>> TakeExpiredTransactionsAsync(string idPrefix, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(idPrefix);
        int checkedLimit = CheckLimit(limit);
        return TakeExpiredAsync(idPrefix, now, checkedLimit, cancellationToken);
    }

    private async Task<IReadOnlyList<StoredTransaction>> TakeExpiredAsync(string idPrefix, DateTimeOffset now, int checkedLimit, CancellationToken cancellationToken)
    {
        // Hosts sweep every few seconds and mostly find nothing: a read first, so that an empty sweep takes no write lock from
        // the other processes on the database.
        using (SqliteLease lease = await _pool.RentAsync(cancellationToken))
        {
            if (await ScalarAsync(lease.Connection, null, "SELECT 1 FROM protocol_transactions WHERE expires_at <= $now LIMIT 1;", cancellationToken,
                ("$now", Format(now))) is null)
            {
                return [];
            }
        }

        return await WriteAsync<IReadOnlyList<StoredTransaction>>(async (connection, dbTransaction, _) =>
        {
            // The write transaction holds the database's write lock: no other process takes the same rows in between.
            List<StoredTransaction> expired = await QueryAsync(connection, dbTransaction,
                $"SELECT {TransactionColumns} FROM protocol_transactions WHERE expires_at <= $now AND substr(id, 1, length($prefix)) = $prefix ORDER BY expires_at, id LIMIT $limit;",
                ReadTransaction, cancellationToken, ("$now", Format(now)), ("$prefix", idPrefix), ("$limit", checkedLimit));
            foreach (StoredTransaction transaction in expired)
            {
                await ExecuteAsync(connection, dbTransaction, "DELETE FROM protocol_transactions WHERE id = $id;", cancellationToken, ("$id", transaction.Id));
            }

            return expired;
        }, cancellationToken);
    }

    private static StoredTransaction ReadTransaction(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Owner = reader.GetString(1),
        Reference = reader.IsDBNull(2) ? null : reader.GetString(2),
        Data = (byte[])reader.GetValue(3),
        ExpiresAt = Parse(reader.GetString(4)),
        Closed = reader.GetInt64(5) != 0,
        Version = reader.GetInt64(6),
    };
}
