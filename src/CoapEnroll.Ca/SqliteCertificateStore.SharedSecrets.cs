using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca;

public sealed partial class SqliteCertificateStore
{
    // Created by every version that knows it (CREATE TABLE IF NOT EXISTS); a database without it gets it on open, one opened by a
    // program that does not know it ignores it. Hence no schema version of its own.
    private const string SharedSecretSchema = """
        CREATE TABLE IF NOT EXISTS shared_secrets (
            reference   TEXT PRIMARY KEY,
            secret      BLOB NOT NULL,
            profile     TEXT,
            subject     TEXT,
            any_name    INTEGER NOT NULL DEFAULT 0,
            created_at  TEXT NOT NULL,
            expires_at  TEXT,
            one_time    INTEGER NOT NULL DEFAULT 0,
            consumed_at TEXT,
            consumed_by TEXT
        );
        """;

    private const string SharedSecretColumns = "reference, secret, profile, subject, any_name, created_at, expires_at, one_time, consumed_at, consumed_by";

    /// <inheritdoc/>
    public Task<bool> TryAddSharedSecretAsync(StoredSharedSecret secret, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(audit);
        if (secret.Reference.Length is 0 or > StoredSharedSecret.MaxReferenceLength)
        {
            throw new ArgumentOutOfRangeException(nameof(secret), $"a reference of 1 to {StoredSharedSecret.MaxReferenceLength} characters");
        }

        if (secret.Secret.Length == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(secret), "an empty secret");
        }

        return WriteAsync(async (connection, transaction, now) =>
        {
            int added = await ExecuteAsync(connection, transaction, $"""
        INSERT INTO shared_secrets ({SharedSecretColumns})
        VALUES ($reference, $secret, $profile, $subject, $anyName, $now, $expires, $oneTime, NULL, NULL)
        ON CONFLICT (reference) DO NOTHING;
        """, cancellationToken,
        ("$reference", secret.Reference), ("$secret", secret.Secret), ("$profile", secret.Profile), ("$subject", secret.Subject),
        ("$anyName", secret.AnyName ? 1 : 0), ("$now", Format(now)), ("$expires", secret.ExpiresAt is { } e ? Format(e) : null), ("$oneTime", secret.OneTime ? 1 : 0));
            if (added == 1)
            {
        await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
            }

            return added == 1;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<StoredSharedSecret?> GetSharedSecretAsync(string reference, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        IReadOnlyList<StoredSharedSecret> rows = await QuerySharedSecretsAsync(connection,
            $"SELECT {SharedSecretColumns} FROM shared_secrets WHERE reference = $reference;", cancellationToken, ("$reference", reference));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredSharedSecret>> ListSharedSecretsAsync(int limit, CancellationToken cancellationToken)
    {
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        return await QuerySharedSecretsAsync(connection, $"SELECT {SharedSecretColumns} FROM shared_secrets ORDER BY reference LIMIT $limit;",
            cancellationToken, ("$limit", CheckLimit(limit)));
    }

    /// <inheritdoc/>
    public Task<bool> RemoveSharedSecretAsync(string reference, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(async (connection, transaction, now) =>
        {
            int removed = await ExecuteAsync(connection, transaction, "DELETE FROM shared_secrets WHERE reference = $reference;", cancellationToken, ("$reference", reference));
            if (removed == 1)
            {
        await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
            }

            return removed == 1;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> TryConsumeSharedSecretAsync(string reference, string consumer, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(async (connection, transaction, now) =>
        {
            int consumed = await ExecuteAsync(connection, transaction, """
        UPDATE shared_secrets SET consumed_at = $now, consumed_by = $consumer
        WHERE reference = $reference AND one_time = 1 AND consumed_at IS NULL;
        """, cancellationToken, ("$now", Format(now)), ("$consumer", consumer), ("$reference", reference));
            if (consumed == 1)
            {
        await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
            }

            return consumed == 1;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task ReleaseSharedSecretAsync(string reference, string consumer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(consumer);
        return WriteAsync(async (connection, transaction, now) =>
            await ExecuteAsync(connection, transaction,
        "UPDATE shared_secrets SET consumed_at = NULL, consumed_by = NULL WHERE reference = $reference AND consumed_by = $consumer;",
        cancellationToken, ("$reference", reference), ("$consumer", consumer)), cancellationToken);
    }

    private static async Task<IReadOnlyList<StoredSharedSecret>> QuerySharedSecretsAsync(PooledSqliteConnection connection, string sql, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters) =>
        await QueryAsync(connection, null, sql, ReadSharedSecret, cancellationToken, parameters);

    private static StoredSharedSecret ReadSharedSecret(SqliteDataReader reader) => new()
    {
        Reference = reader.GetString(0),
        Secret = (byte[])reader.GetValue(1),
        Profile = reader.IsDBNull(2) ? null : reader.GetString(2),
        Subject = reader.IsDBNull(3) ? null : reader.GetString(3),
        AnyName = reader.GetInt64(4) != 0,
        CreatedAt = Parse(reader.GetString(5)),
        ExpiresAt = reader.IsDBNull(6) ? null : Parse(reader.GetString(6)),
        OneTime = reader.GetInt64(7) != 0,
        ConsumedAt = reader.IsDBNull(8) ? null : Parse(reader.GetString(8)),
        ConsumedBy = reader.IsDBNull(9) ? null : reader.GetString(9),
    };
}
