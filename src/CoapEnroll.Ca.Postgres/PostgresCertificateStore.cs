using System.Security.Cryptography.X509Certificates;
using Npgsql;

namespace CoapEnroll.Ca.Postgres;

/// <summary>
/// <see cref="ICertificateStore"/> on PostgreSQL, for several nodes on one database. Each write is one READ COMMITTED transaction;
/// the rules hold across nodes by the database itself: the serial number and the request key are unique constraints (a racing
/// second writer waits for the first and then fails with the conflict), state changes are conditional updates of one row, and the
/// one-name-one-holder check takes a transaction advisory lock on the subject key, so that two identities asking for one name on
/// two nodes are serialized. Timestamps are kept to the microsecond.
/// </summary>
public sealed partial class PostgresCertificateStore : ICertificateAuthorityStore
{
    private const int MaxLimit = 10_000;

    // A write that meets a deadlock or a serialization failure is run again, whole, this many times.
    private const int MaxWriteAttempts = 3;

    // The rule FindNameHolderAsync reads and InsertCertificateAsync enforces, as in the SQLite store: "identity <> @identity" as one
    // range each side, so that certificates_holder seeks past the asking identity's own certificates.
    private const string HeldBelow = "subject_key = @key AND status = 'active' AND identity < @identity AND not_after > @now";
    private const string HeldAbove = "subject_key = @key AND status = 'active' AND identity > @identity AND not_after > @now";

    private const string RequestColumns = "id, request_key, csr, override_public_key, requester, protocol, profile, status, reason_code, reason, replaces_serial, issued_serial, created_at, updated_at, identity, registrar";
    private const string CertificateColumns = "serial, request_id, subject, issuer, not_before, not_after, der, public_key_sha256, profile, requester, status, replaces_serial, created_at, identity, revocation_reason, revoked_at";

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;

    private PostgresCertificateStore(NpgsqlDataSource dataSource, TimeProvider time)
    {
        _dataSource = dataSource;
        _time = time;
    }

    /// <summary>The schema version this program creates and migrates to (the row of the <c>schema_version</c> table).</summary>
    public static int SchemaVersion => PostgresSchema.Version;

    /// <summary>Connects with <paramref name="connectionString"/> (an Npgsql connection string) and creates or migrates the schema.</summary>
    /// <exception cref="InvalidOperationException">The database was migrated by a newer program.</exception>
    public static async Task<PostgresCertificateStore> OpenAsync(string connectionString, TimeProvider? timeProvider, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);
        var store = new PostgresCertificateStore(dataSource, timeProvider ?? TimeProvider.System);
        try
        {
            await PostgresSchema.CreateOrMigrateAsync(dataSource, cancellationToken);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc/>
    public Task<StoredRequest> AddIssuedAsync(StoredRequest request, StoredCertificate certificate, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, now) =>
        {
            StoredRequest stored = await InsertRequestAsync(connection, transaction, request with { Status = RequestStatus.Issued, IssuedSerialNumber = certificate.SerialNumber }, now, cancellationToken);
            await InsertCertificateAsync(connection, transaction, certificate, stored.Id, now, cancellationToken);
            await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
            return stored;
        }, cancellationToken);

    /// <inheritdoc/>
    public async Task<StoredRequest> AddPendingAsync(StoredRequest request, AuditEntry audit, CancellationToken cancellationToken) =>
        (await TryAddPendingAsync(request, audit, PendingLimits.Unbounded, cancellationToken)).Stored!;

    /// <inheritdoc/>
    public Task<PendingAdmission> TryAddPendingAsync(StoredRequest request, AuditEntry audit, PendingLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(audit);
        bool bounded = limits.MaxTotal != int.MaxValue || limits.MaxPerIdentity != int.MaxValue;
        return WriteAsync(async (connection, transaction, now) =>
        {
            int total = 0, ofIdentity = 0;
            if (bounded)
            {
                // Under READ COMMITTED two nodes could both count below the bound and both insert: a transaction-scoped advisory
                // lock, held until commit, makes count-and-insert one step across the nodes. Only bounded adds take it.
                await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key);", cancellationToken, ("key", PendingAdmissionLockKey));
                (total, ofIdentity) = await CountPendingAsync(connection, transaction, request.Identity ?? "", cancellationToken);
                if (ofIdentity >= limits.MaxPerIdentity || total >= limits.MaxTotal)
                {
                    return new PendingAdmission(null, ofIdentity >= limits.MaxPerIdentity, total >= limits.MaxTotal, total);
                }
            }

            StoredRequest stored = await InsertRequestAsync(connection, transaction, request with { Status = RequestStatus.Pending, IssuedSerialNumber = null }, now, cancellationToken);
            await InsertAuditAsync(connection, transaction, audit with { Details = $"request {stored.Id}: {audit.Details}" }, now, cancellationToken);
            return new PendingAdmission(stored, false, false, total);
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<StoredRequest> AddRejectedAsync(StoredRequest request, RejectionReason reason, string detail, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(detail);
        ArgumentNullException.ThrowIfNull(audit);
        if (reason == RejectionReason.None)
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "a rejected request needs a reason");
        }

        return WriteAsync(async (connection, transaction, now) =>
        {
            // request_key NULL (UNIQUE admits any number of NULLs): a repeat of a refused request is never answered from this row.
            StoredRequest stored = await InsertRequestAsync(connection, transaction,
                request with { RequestKey = null, Status = RequestStatus.Rejected, RejectionReason = reason, ReasonDetail = detail, IssuedSerialNumber = null }, now, cancellationToken);
            await InsertAuditAsync(connection, transaction, audit with { Details = $"request {stored.Id}: {audit.Details}" }, now, cancellationToken);
            return stored;
        }, cancellationToken);
    }

    /// <inheritdoc/>
    public Task<StoredRequest> CompletePendingAsync(long requestId, StoredCertificate certificate, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, now) =>
        {
            // Two nodes approving at once: the second UPDATE waits for the first's row lock, then finds the row no longer pending.
            int changed = await ExecuteAsync(connection, transaction,
                "UPDATE requests SET status = 'issued', issued_serial = @serial, updated_at = @now WHERE id = @id AND status = 'pending';",
                cancellationToken, ("serial", certificate.SerialNumber), ("now", now), ("id", requestId));
            if (changed != 1)
            {
                throw new CertificateStoreConflictException(StoreConflict.RequestState, $"request {requestId} does not exist or is not pending");
            }

            await InsertCertificateAsync(connection, transaction, certificate, requestId, now, cancellationToken);
            await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
            return (await GetRequestAsync(connection, transaction, requestId, cancellationToken))!;
        }, cancellationToken);

    /// <inheritdoc/>
    public Task<StoredRequest> RejectPendingAsync(long requestId, RejectionReason reason, string detail, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, now) =>
        {
            int changed = await ExecuteAsync(connection, transaction,
                "UPDATE requests SET status = 'rejected', reason_code = @code, reason = @reason, updated_at = @now WHERE id = @id AND status = 'pending';",
                cancellationToken, ("code", reason.ToString()), ("reason", detail), ("now", now), ("id", requestId));
            if (changed != 1)
            {
                throw new CertificateStoreConflictException(StoreConflict.RequestState, $"request {requestId} does not exist or is not pending");
            }

            await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
            return (await GetRequestAsync(connection, transaction, requestId, cancellationToken))!;
        }, cancellationToken);

    /// <inheritdoc/>
    public async Task<StoredRequest?> GetRequestAsync(long requestId, CancellationToken cancellationToken)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await GetRequestAsync(connection, null, requestId, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<StoredRequest?> GetRequestByKeyAsync(string requestKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestKey);
        List<StoredRequest> rows = await ReadAsync($"SELECT {RequestColumns} FROM requests WHERE request_key = @key;", ReadRequest, cancellationToken, ("key", requestKey));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredRequest>> FindRequestsReplacingAsync(string serialNumber, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serialNumber);
        return await ReadAsync($"SELECT {RequestColumns} FROM requests WHERE replaces_serial = @serial AND status = 'issued' ORDER BY id LIMIT @limit;", ReadRequest,
            cancellationToken, ("serial", serialNumber.ToUpperInvariant()), ("limit", CheckLimit(limit)));
    }

    /// <inheritdoc/>
    public async Task<(int Total, int OfIdentity)> CountPendingRequestsAsync(string identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await CountPendingAsync(connection, null, identity, cancellationToken);
    }

    private static async Task<(int Total, int OfIdentity)> CountPendingAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string identity,
        CancellationToken cancellationToken) =>
        (await QueryAsync(connection, transaction,
            "SELECT count(*)::integer, count(CASE WHEN identity = @identity THEN 1 END)::integer FROM requests WHERE status = 'pending';",
            static reader => (reader.GetInt32(0), reader.GetInt32(1)), cancellationToken, ("identity", identity)))[0];

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredRequest>> ListPendingRequestsAsync(int limit, CancellationToken cancellationToken) =>
        await ReadAsync($"SELECT {RequestColumns} FROM requests WHERE status = 'pending' ORDER BY id LIMIT @limit;", ReadRequest, cancellationToken, ("limit", CheckLimit(limit)));

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredRequest>> ListRequestsAsync(RequestStatus? status, int limit, CancellationToken cancellationToken)
    {
        int checkedLimit = CheckLimit(limit);
        return status is { } only
            ? await ReadAsync($"SELECT {RequestColumns} FROM requests WHERE status = @status ORDER BY id DESC LIMIT @limit;", ReadRequest, cancellationToken,
                ("status", ToText(only)), ("limit", checkedLimit))
            : await ReadAsync($"SELECT {RequestColumns} FROM requests ORDER BY id DESC LIMIT @limit;", ReadRequest, cancellationToken, ("limit", checkedLimit));
    }

    /// <inheritdoc/>
    public async Task<StoredCertificate?> GetCertificateAsync(string serialNumber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serialNumber);
        List<StoredCertificate> rows = await ReadAsync($"SELECT {CertificateColumns} FROM certificates WHERE serial = @serial;", ReadCertificate, cancellationToken,
            ("serial", serialNumber.ToUpperInvariant()));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredCertificate>> FindCertificatesByRequesterAsync(string requester, int limit, CancellationToken cancellationToken) =>
        await ReadAsync($"SELECT {CertificateColumns} FROM certificates WHERE requester = @requester ORDER BY created_at DESC, seq DESC LIMIT @limit;", ReadCertificate,
            cancellationToken, ("requester", requester), ("limit", CheckLimit(limit)));

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredCertificate>> FindCertificatesBySubjectAsync(string subject, int limit, CancellationToken cancellationToken) =>
        await ReadAsync($"SELECT {CertificateColumns} FROM certificates WHERE subject = @subject ORDER BY created_at DESC, seq DESC LIMIT @limit;", ReadCertificate,
            cancellationToken, ("subject", subject), ("limit", CheckLimit(limit)));

    /// <inheritdoc/>
    public async Task<StoredCertificate?> FindNameHolderAsync(X500DistinguishedName subject, string identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(identity);
        List<StoredCertificate> rows = await ReadAsync(
            $"""
            SELECT {CertificateColumns} FROM (
                SELECT {CertificateColumns}, seq FROM certificates WHERE {HeldBelow}
                UNION ALL
                SELECT {CertificateColumns}, seq FROM certificates WHERE {HeldAbove}) AS holders
            ORDER BY created_at DESC, seq DESC LIMIT 1;
            """,
            ReadCertificate, cancellationToken, ("key", DistinguishedNames.Key(subject)), ("now", _time.GetUtcNow()), ("identity", identity));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredCertificate>> ListCertificatesAsync(int limit, CancellationToken cancellationToken) =>
        await ReadAsync($"SELECT {CertificateColumns} FROM certificates ORDER BY created_at DESC, seq DESC LIMIT @limit;", ReadCertificate, cancellationToken,
            ("limit", CheckLimit(limit)));

    /// <inheritdoc/>
    public Task<bool> SetCertificateStatusAsync(string serialNumber, CertificateStatus status, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, now) =>
        {
            // Revocation is final: the WHERE clause leaves a revoked row alone unless it is set to revoked again, which keeps its
            // first reason and time.
            int changed = await ExecuteAsync(connection, transaction, """
                UPDATE certificates SET status = @status, updated_at = @now,
                    revocation_reason = CASE WHEN @status = 'revoked' THEN COALESCE(revocation_reason, 0) END,
                    revoked_at = CASE WHEN @status = 'revoked' THEN COALESCE(revoked_at, @now) END
                WHERE serial = @serial AND (status <> 'revoked' OR @status = 'revoked');
                """, cancellationToken, ("status", ToText(status)), ("now", now), ("serial", serialNumber.ToUpperInvariant()));
            if (changed == 1)
            {
                await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
            }

            return changed == 1;
        }, cancellationToken);

    /// <inheritdoc/>
    public Task<RevocationStatus> RevokeCertificateAsync(string serialHex, int reason, DateTimeOffset time, CancellationToken cancellationToken) =>
        RevokeAsync(serialHex, reason, time, null, cancellationToken);

    /// <inheritdoc/>
    public Task<RevocationStatus> RevokeCertificateAsync(string serialHex, int reason, DateTimeOffset time, AuditEntry audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        return RevokeAsync(serialHex, reason, time, audit, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RevokedCertificate>> ListRevokedAsync(CancellationToken cancellationToken) =>
        await ReadAsync("SELECT serial, COALESCE(revoked_at, updated_at), COALESCE(revocation_reason, 0) FROM certificates WHERE status = 'revoked' ORDER BY serial;",
            static reader => new RevokedCertificate(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt32(2)), cancellationToken);

    /// <inheritdoc/>
    public Task<long> NextCrlNumberAsync(long atLeast, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, now) =>
        {
            await using NpgsqlCommand command = Command(connection, transaction, "UPDATE crl_state SET last_number = GREATEST(last_number + 1, @atLeast) WHERE id = 1 RETURNING last_number;");
            command.Parameters.AddWithValue("atLeast", atLeast);
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }, cancellationToken);

    /// <inheritdoc/>
    public Task AppendAuditAsync(AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, now) =>
        {
            await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc/>
    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken cancellationToken) =>
        await ReadAsync("SELECT id, timestamp, actor, action, details FROM audit_log ORDER BY id DESC LIMIT @limit;",
            static reader => new AuditEntry
            {
                Id = reader.GetInt64(0),
                Timestamp = reader.GetFieldValue<DateTimeOffset>(1),
                Actor = reader.GetString(2),
                Action = reader.GetString(3),
                Details = reader.GetString(4),
            }, cancellationToken, ("limit", CheckLimit(limit)));

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    // The advisory lock that serializes bounded pending-request admissions across nodes: an arbitrary 64-bit key ("CEpendng").
    private const long PendingAdmissionLockKey = 0x4345_7065_6E64_6E67;

    private async Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, DateTimeOffset, Task<T>> work, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync(cancellationToken);
            try
            {
                T result = await work(connection, transaction, Truncate(_time.GetUtcNow()));
                await transaction.CommitAsync(cancellationToken);
                return result;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure && attempt < MaxWriteAttempts)
            {
                // Rolled back when the transaction is disposed; the whole write runs again.
            }
            catch (PostgresException ex) when (ex.SqlState.StartsWith("23", StringComparison.Ordinal) /* integrity constraint violation */)
            {
                throw TranslateConstraint(ex);
            }
        }
    }

    private Task<RevocationStatus> RevokeAsync(string serialHex, int reason, DateTimeOffset time, AuditEntry? audit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(serialHex);
        if (!RevocationReasons.IsValid(reason))
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, RevocationReasons.ValidText);
        }

        string serial = serialHex.ToUpperInvariant();
        return WriteAsync(async (connection, transaction, now) =>
        {
            // Revocation is final: a revoked certificate keeps its first reason and time.
            int changed = await ExecuteAsync(connection, transaction, """
                UPDATE certificates SET status = 'revoked', revocation_reason = @reason, revoked_at = @at, updated_at = @now
                WHERE serial = @serial AND status <> 'revoked';
                """, cancellationToken, ("reason", reason), ("at", time), ("now", now), ("serial", serial));
            if (changed == 1)
            {
                if (audit is not null)
                {
                    await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
                }

                return RevocationStatus.Revoked;
            }

            await using NpgsqlCommand exists = Command(connection, transaction, "SELECT 1 FROM certificates WHERE serial = @serial;", ("serial", serial));
            return await exists.ExecuteScalarAsync(cancellationToken) is null ? RevocationStatus.UnknownCertificate : RevocationStatus.AlreadyRevoked;
        }, cancellationToken);
    }

    private static CertificateStoreConflictException TranslateConstraint(PostgresException ex) => ex.ConstraintName switch
    {
        "certificates_pkey" => new CertificateStoreConflictException(StoreConflict.SerialNumber, "a certificate with this serial number exists", ex),
        "requests_request_key_key" => new CertificateStoreConflictException(StoreConflict.RequestKey, "a request with this request key exists", ex),
        _ => new CertificateStoreConflictException(StoreConflict.RequestState, $"constraint violated: {ex.MessageText}", ex),
    };

    private static async Task<StoredRequest> InsertRequestAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, StoredRequest request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        bool rejected = request.Status == RequestStatus.Rejected;
        await using NpgsqlCommand command = Command(connection, transaction, """
            INSERT INTO requests (request_key, csr, override_public_key, requester, identity, protocol, profile, status, reason_code, reason, replaces_serial, issued_serial, created_at, updated_at, registrar)
            VALUES (@key, @csr, @override, @requester, @identity, @protocol, @profile, @status, @code, @reason, @replaces, @issued, @now, @now, @registrar)
            RETURNING id;
            """,
            ("key", request.RequestKey), ("csr", request.CsrDer), ("override", request.OverridePublicKey), ("requester", request.Requester), ("identity", request.Identity ?? request.Requester),
            ("protocol", request.Protocol), ("profile", request.Profile), ("status", ToText(request.Status)), ("code", rejected ? request.RejectionReason.ToString() : null),
            ("reason", rejected ? request.ReasonDetail : null), ("replaces", request.ReplacesSerialNumber), ("issued", request.IssuedSerialNumber), ("now", now),
            ("registrar", request.Registrar));
        long id = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        return request with
        {
            Id = id,
            Identity = request.Identity ?? request.Requester,
            CreatedAt = now,
            UpdatedAt = now,
            RejectionReason = rejected ? request.RejectionReason : RejectionReason.None,
            ReasonDetail = rejected ? request.ReasonDetail : null,
        };
    }

    private static async Task InsertCertificateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, StoredCertificate certificate, long requestId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        string identity = certificate.Identity ?? certificate.Requester;
        string subjectKey = SubjectKeyOf(certificate.Der);
        if (certificate.Status == CertificateStatus.Active)
        {
            // One name, one holder, across nodes: the lock on the subject key (held to the end of the transaction) makes a second
            // identity asking for the name wait until the first has committed, and then see its certificate.
            await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtextextended(@key, 0));", cancellationToken, ("key", subjectKey));
            await using NpgsqlCommand held = Command(connection, transaction,
                $"SELECT serial FROM certificates WHERE {HeldBelow} UNION ALL SELECT serial FROM certificates WHERE {HeldAbove} LIMIT 1;",
                ("key", subjectKey), ("now", now), ("identity", identity));
            if (await held.ExecuteScalarAsync(cancellationToken) is string serial)
            {
                throw new CertificateStoreConflictException(StoreConflict.SubjectHeld, $"the subject is held by active certificate {serial} of another identity");
            }
        }

        await ExecuteAsync(connection, transaction, """
            INSERT INTO certificates (serial, request_id, subject, issuer, not_before, not_after, der, public_key_sha256, profile, requester, identity, subject_key, status, replaces_serial, created_at, updated_at)
            VALUES (@serial, @request, @subject, @issuer, @nb, @na, @der, @pk, @profile, @requester, @identity, @subjectKey, @status, @replaces, @now, @now);
            """, cancellationToken,
            ("serial", certificate.SerialNumber.ToUpperInvariant()), ("request", requestId), ("subject", certificate.Subject), ("issuer", certificate.Issuer),
            ("nb", certificate.NotBefore), ("na", certificate.NotAfter), ("der", certificate.Der), ("pk", certificate.PublicKeySha256),
            ("profile", certificate.Profile), ("requester", certificate.Requester), ("identity", identity), ("subjectKey", subjectKey),
            ("status", ToText(certificate.Status)), ("replaces", certificate.ReplacesSerialNumber?.ToUpperInvariant()), ("now", now));
        if (certificate.ReplacesSerialNumber is not null)
        {
            // Re-enrollment (RFC 7030 section 4.2.2): the certificate being replaced stops being the current one.
            await ExecuteAsync(connection, transaction, "UPDATE certificates SET status = 'superseded', updated_at = @now WHERE serial = @serial AND status = 'active';",
                cancellationToken, ("serial", certificate.ReplacesSerialNumber.ToUpperInvariant()), ("now", now));
        }
    }

    private static Task<int> InsertAuditAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        string details = audit.Details.Length > AuditEntry.MaxDetailsLength ? audit.Details[..AuditEntry.MaxDetailsLength] : audit.Details;
        return ExecuteAsync(connection, transaction, "INSERT INTO audit_log (timestamp, actor, action, details) VALUES (@at, @actor, @action, @details);",
            cancellationToken, ("at", audit.Timestamp == default ? now : audit.Timestamp), ("actor", audit.Actor), ("action", audit.Action), ("details", details));
    }

    private static async Task<StoredRequest?> GetRequestAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long requestId, CancellationToken cancellationToken)
    {
        await using NpgsqlCommand command = Command(connection, transaction, $"SELECT {RequestColumns} FROM requests WHERE id = @id;", ("id", requestId));
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRequest(reader) : null;
    }

    private static StoredRequest ReadRequest(NpgsqlDataReader reader) =>
        new()
        {
            Id = reader.GetInt64(0),
            RequestKey = reader.IsDBNull(1) ? null : reader.GetString(1),
            CsrDer = reader.GetFieldValue<byte[]>(2),
            OverridePublicKey = reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3),
            Requester = reader.GetString(4),
            Protocol = reader.GetString(5),
            Profile = reader.GetString(6),
            Status = reader.GetString(7) switch
            {
                "pending" => RequestStatus.Pending,
                "issued" => RequestStatus.Issued,
                _ => RequestStatus.Rejected,
            },
            RejectionReason = reader.IsDBNull(8) || !Enum.TryParse(reader.GetString(8), out RejectionReason reason) ? RejectionReason.None : reason,
            ReasonDetail = reader.IsDBNull(9) ? null : reader.GetString(9),
            ReplacesSerialNumber = reader.IsDBNull(10) ? null : reader.GetString(10),
            IssuedSerialNumber = reader.IsDBNull(11) ? null : reader.GetString(11),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(12),
            UpdatedAt = reader.GetFieldValue<DateTimeOffset>(13),
            Identity = reader.IsDBNull(14) ? reader.GetString(4) : reader.GetString(14),
            Registrar = reader.IsDBNull(15) ? null : reader.GetString(15),
        };

    private static StoredCertificate ReadCertificate(NpgsqlDataReader reader) =>
        new()
        {
            SerialNumber = reader.GetString(0),
            RequestId = reader.GetInt64(1),
            Subject = reader.GetString(2),
            Issuer = reader.GetString(3),
            NotBefore = reader.GetFieldValue<DateTimeOffset>(4),
            NotAfter = reader.GetFieldValue<DateTimeOffset>(5),
            Der = reader.GetFieldValue<byte[]>(6),
            PublicKeySha256 = reader.GetString(7),
            Profile = reader.GetString(8),
            Requester = reader.GetString(9),
            Status = reader.GetString(10) switch
            {
                "active" => CertificateStatus.Active,
                "revoked" => CertificateStatus.Revoked,
                _ => CertificateStatus.Superseded,
            },
            ReplacesSerialNumber = reader.IsDBNull(11) ? null : reader.GetString(11),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(12),
            Identity = reader.IsDBNull(13) ? reader.GetString(9) : reader.GetString(13),
            RevocationReason = reader.IsDBNull(14) ? null : reader.GetInt32(14),
            RevokedAt = reader.IsDBNull(15) ? null : reader.GetFieldValue<DateTimeOffset>(15),
        };

    private static string SubjectKeyOf(byte[] der)
    {
        if (DistinguishedNames.SubjectKeyOfCertificate(der) is { } key)
        {
            return key;
        }

        using X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(der);
        return DistinguishedNames.Key(certificate.SubjectName);
    }

    private async Task<List<T>> ReadAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using NpgsqlConnection connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await QueryAsync(connection, null, sql, read, cancellationToken, parameters);
    }

    private static async Task<List<T>> QueryAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, Func<NpgsqlDataReader, T> read,
        CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using NpgsqlCommand command = Command(connection, transaction, sql, parameters);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using NpgsqlCommand command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // Times go in as UTC DateTime (timestamptz); a null goes in untyped and takes its column's type.
    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach ((string name, object? value) in parameters)
        {
            command.Parameters.AddWithValue(name, value switch
            {
                null => DBNull.Value,
                DateTimeOffset time => time.UtcDateTime,
                _ => value,
            });
        }

        return command;
    }

    private static int CheckLimit(int limit) => limit is > 0 and <= MaxLimit ? limit : throw new ArgumentOutOfRangeException(nameof(limit), limit, $"must be 1..{MaxLimit}");

    private static string ToText(RequestStatus status) => status switch
    {
        RequestStatus.Pending => "pending",
        RequestStatus.Issued => "issued",
        _ => "rejected",
    };

    private static string ToText(CertificateStatus status) => status switch
    {
        CertificateStatus.Active => "active",
        CertificateStatus.Revoked => "revoked",
        _ => "superseded",
    };

    // PostgreSQL keeps microseconds; what a write returns is what a read gives back.
    private static DateTimeOffset Truncate(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % 10), TimeSpan.Zero);
}
