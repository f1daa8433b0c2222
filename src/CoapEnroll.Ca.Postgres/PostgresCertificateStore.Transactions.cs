using Npgsql;

namespace CoapEnroll.Ca.Postgres;

public sealed partial class PostgresCertificateStore
{
    private const string TransactionColumns = "id, owner, reference, data, expires_at, closed, version";

    /// <inheritdoc/>
    public Task<bool> TryAddTransactionAsync(StoredTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.Validate();
        return WriteAsync(async (connection, dbTransaction, now) => await ExecuteAsync(connection, dbTransaction, $"""
            INSERT INTO protocol_transactions ({TransactionColumns})
            VALUES (@id, @owner, @reference, @data, @expires, @closed, 1)
            ON CONFLICT (id) DO NOTHING;
            """, cancellationToken, ("id", transaction.Id), ("owner", transaction.Owner), ("reference", transaction.Reference), ("data", transaction.Data),
            ("expires", transaction.ExpiresAt), ("closed", transaction.Closed)) == 1, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<StoredTransaction?> GetTransactionAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        List<StoredTransaction> rows = await ReadAsync($"SELECT {TransactionColumns} FROM protocol_transactions WHERE id = @id;", ReadTransaction,
            cancellationToken, ("id", id));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public Task<StoredTransaction?> TryUpdateTransactionAsync(StoredTransaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.Validate();
        return WriteAsync<StoredTransaction?>(async (connection, dbTransaction, now) =>
        {
            // Two nodes updating at once: the second waits for the first's row lock, then finds the version moved on.
            int changed = await ExecuteAsync(connection, dbTransaction, """
                UPDATE protocol_transactions
                SET owner = @owner, reference = @reference, data = @data, expires_at = @expires, closed = @closed, version = version + 1
                WHERE id = @id AND version = @version AND NOT closed;
                """, cancellationToken, ("id", transaction.Id), ("owner", transaction.Owner), ("reference", transaction.Reference), ("data", transaction.Data),
                ("expires", transaction.ExpiresAt), ("closed", transaction.Closed), ("version", transaction.Version));
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
            UPDATE protocol_transactions SET closed = true, expires_at = @forget, version = version + 1
            WHERE reference = @reference AND owner = @owner AND id <> @except AND NOT closed;
            """, cancellationToken, ("forget", forgetAt), ("reference", reference), ("owner", owner), ("except", exceptId)), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<StoredTransaction>> TakeExpiredTransactionsAsync(string idPrefix, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(idPrefix);
        int checkedLimit = CheckLimit(limit);
        return WriteAsync<IReadOnlyList<StoredTransaction>>(async (connection, dbTransaction, _) =>
        {
            // SKIP LOCKED: nodes sweeping at once take disjoint rows instead of waiting for each other; each row goes to one of them.
            await using NpgsqlCommand command = Command(connection, dbTransaction, $"""
                DELETE FROM protocol_transactions WHERE id IN (
                    SELECT id FROM protocol_transactions WHERE expires_at <= @now AND starts_with(id, @prefix)
                    ORDER BY expires_at, id LIMIT @limit FOR UPDATE SKIP LOCKED)
                RETURNING {TransactionColumns};
                """, ("now", now), ("prefix", idPrefix), ("limit", checkedLimit));
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
            var expired = new List<StoredTransaction>();
            while (await reader.ReadAsync(cancellationToken))
            {
                expired.Add(ReadTransaction(reader));
            }

            expired.Sort((a, b) => a.ExpiresAt != b.ExpiresAt ? a.ExpiresAt.CompareTo(b.ExpiresAt) : string.CompareOrdinal(a.Id, b.Id));
            return expired;
        }, cancellationToken);
    }

    private static StoredTransaction ReadTransaction(NpgsqlDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Owner = reader.GetString(1),
        Reference = reader.IsDBNull(2) ? null : reader.GetString(2),
        Data = reader.GetFieldValue<byte[]>(3),
        ExpiresAt = reader.GetFieldValue<DateTimeOffset>(4),
        Closed = reader.GetBoolean(5),
        Version = reader.GetInt64(6),
    };
}
