using Npgsql;

namespace CoapEnroll.Ca.Postgres;

public sealed partial class PostgresCertificateStore
{
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
                VALUES (@reference, @secret, @profile, @subject, @anyName, @now, @expires, @oneTime, NULL, NULL)
                ON CONFLICT (reference) DO NOTHING;
                """, cancellationToken,
                ("reference", secret.Reference), ("secret", secret.Secret), ("profile", secret.Profile), ("subject", secret.Subject),
                ("anyName", secret.AnyName), ("now", now), ("expires", secret.ExpiresAt), ("oneTime", secret.OneTime));
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
        List<StoredSharedSecret> rows = await ReadAsync($"SELECT {SharedSecretColumns} FROM shared_secrets WHERE reference = @reference;", ReadSharedSecret,
            cancellationToken, ("reference", reference));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredSharedSecret>> ListSharedSecretsAsync(int limit, CancellationToken cancellationToken) =>
        await ReadAsync($"SELECT {SharedSecretColumns} FROM shared_secrets ORDER BY reference LIMIT @limit;", ReadSharedSecret, cancellationToken, ("limit", CheckLimit(limit)));

    /// <inheritdoc/>
    public Task<bool> RemoveSharedSecretAsync(string reference, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(audit);
        return WriteAsync(async (connection, transaction, now) =>
        {
            int removed = await ExecuteAsync(connection, transaction, "DELETE FROM shared_secrets WHERE reference = @reference;", cancellationToken, ("reference", reference));
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
            // Two nodes consuming at once: the second UPDATE waits for the first's row lock and then finds consumed_at set.
            int consumed = await ExecuteAsync(connection, transaction, """
                UPDATE shared_secrets SET consumed_at = @now, consumed_by = @consumer
                WHERE reference = @reference AND one_time AND consumed_at IS NULL;
                """, cancellationToken, ("now", now), ("consumer", consumer), ("reference", reference));
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
                "UPDATE shared_secrets SET consumed_at = NULL, consumed_by = NULL WHERE reference = @reference AND consumed_by = @consumer;",
                cancellationToken, ("reference", reference), ("consumer", consumer)), cancellationToken);
    }

    private static StoredSharedSecret ReadSharedSecret(NpgsqlDataReader reader) => new()
    {
        Reference = reader.GetString(0),
        Secret = reader.GetFieldValue<byte[]>(1),
        Profile = reader.IsDBNull(2) ? null : reader.GetString(2),
        Subject = reader.IsDBNull(3) ? null : reader.GetString(3),
        AnyName = reader.GetBoolean(4),
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(5),
        ExpiresAt = reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
        OneTime = reader.GetBoolean(7),
        ConsumedAt = reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
        ConsumedBy = reader.IsDBNull(9) ? null : reader.GetString(9),
    };
}
