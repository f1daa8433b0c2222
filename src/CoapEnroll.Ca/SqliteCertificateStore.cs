using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca;

/// <summary>
/// <see cref="ICertificateStore"/> on SQLite (<c>DIR/coapenroll.db</c>): WAL journal, full fsync on commit, a few connections
/// kept open with their statements prepared (one operation at a time on each), writes serialized in-process and as BEGIN
/// IMMEDIATE transactions across processes (so an operator's CLI can approve while the server runs).
/// </summary>
public sealed partial class SqliteCertificateStore : ICertificateAuthorityStore
{
    /// <summary>
    /// Schema version kept in PRAGMA user_version (2: the identity of requests and certificates, the subject key; 3: the revocation
    /// reason and time of certificates, the CRL number; 4: the registrar that submitted a request for a device).
    /// </summary>
    public const int SchemaVersion = 4;

    private const int MaxLimit = 10_000;
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS requests (
            id                  INTEGER PRIMARY KEY AUTOINCREMENT,
            request_key         TEXT UNIQUE,
            csr                 BLOB NOT NULL,
            override_public_key BLOB,
            requester           TEXT NOT NULL,
            identity            TEXT,
            protocol            TEXT NOT NULL,
            profile             TEXT NOT NULL,
            status              TEXT NOT NULL CHECK (status IN ('pending', 'issued', 'rejected')),
            reason_code         TEXT,
            reason              TEXT,
            replaces_serial     TEXT,
            issued_serial       TEXT,
            created_at          TEXT NOT NULL,
            updated_at          TEXT NOT NULL,
            registrar           TEXT
        );
        CREATE INDEX IF NOT EXISTS requests_status ON requests (status, id);
        CREATE INDEX IF NOT EXISTS requests_replaces ON requests (replaces_serial, status, id);
        CREATE TABLE IF NOT EXISTS certificates (
            serial            TEXT PRIMARY KEY,
            request_id        INTEGER NOT NULL REFERENCES requests (id),
            subject           TEXT NOT NULL,
            issuer            TEXT NOT NULL,
            not_before        TEXT NOT NULL,
            not_after         TEXT NOT NULL,
            der               BLOB NOT NULL,
            public_key_sha256 TEXT NOT NULL,
            profile           TEXT NOT NULL,
            requester         TEXT NOT NULL,
            identity          TEXT,
            subject_key       TEXT,
            status            TEXT NOT NULL CHECK (status IN ('active', 'revoked', 'superseded')),
            replaces_serial   TEXT,
            created_at        TEXT NOT NULL,
            updated_at        TEXT NOT NULL,
            revocation_reason INTEGER,
            revoked_at        TEXT
        );
        CREATE INDEX IF NOT EXISTS certificates_subject ON certificates (subject);
        CREATE INDEX IF NOT EXISTS certificates_requester ON certificates (requester);
        CREATE INDEX IF NOT EXISTS certificates_public_key ON certificates (public_key_sha256);
        CREATE INDEX IF NOT EXISTS certificates_holder ON certificates (subject_key, status, identity, not_after);
        CREATE TABLE IF NOT EXISTS audit_log (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            timestamp TEXT NOT NULL,
            actor     TEXT NOT NULL,
            action    TEXT NOT NULL,
            details   TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS crl_state (
            id          INTEGER PRIMARY KEY CHECK (id = 1),
            last_number INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO crl_state (id, last_number) VALUES (1, 0);
        """;

    // Version 1 had none of these columns: added, then filled by BackfillVersion1Async.
    private const string MigrateVersion1 = """
        ALTER TABLE requests ADD COLUMN identity TEXT;
        ALTER TABLE certificates ADD COLUMN identity TEXT;
        ALTER TABLE certificates ADD COLUMN subject_key TEXT;
        """;

    // Version 2 had no revocation details: a certificate revoked then (by status alone) is revoked for an unspecified reason (0)
    // at the time its row last changed. crl_state is created by the schema.
    private const string MigrateVersion2 = """
        ALTER TABLE certificates ADD COLUMN revocation_reason INTEGER;
        ALTER TABLE certificates ADD COLUMN revoked_at TEXT;
        UPDATE certificates SET revocation_reason = 0, revoked_at = updated_at WHERE status = 'revoked';
        """;

    // Versions 1 to 3 knew no registrars: every request came from the device itself (registrar NULL).
    private const string MigrateVersion3 = "ALTER TABLE requests ADD COLUMN registrar TEXT;";

    // requests_replaces (FindRequestsReplacingAsync) came without a schema version: an index changes no row, so a store that has it
    // stays readable by older programs, and CREATE INDEX IF NOT EXISTS above adds it to an older store on open.

    // Indexes an older program created that certificates_holder replaces. Dropped on every open, since such a program, opening the
    // store in between, creates its own again (no schema version: either program keeps working on the other's store).
    private const string DropSupersededIndexes = "DROP INDEX IF EXISTS certificates_subject_key;";

    // The rule FindNameHolderAsync reads and InsertCertificateAsync enforces: one name, one holder identity. "identity <> $identity"
    // as one range each side of $identity, so that certificates_holder seeks past the asking identity's own certificates (a device
    // that re-enrolls often has thousands of active ones) instead of reading them all. NULL identities match neither, as with <>.
    private const string HeldBelow = "subject_key = $key AND status = 'active' AND identity < $identity AND not_after > $now";
    private const string HeldAbove = "subject_key = $key AND status = 'active' AND identity > $identity AND not_after > $now";

    private const string RequestColumns = "id, request_key, csr, override_public_key, requester, protocol, profile, status, reason_code, reason, replaces_serial, issued_serial, created_at, updated_at, identity, registrar";
    private const string CertificateColumns = "serial, request_id, subject, issuer, not_before, not_after, der, public_key_sha256, profile, requester, status, replaces_serial, created_at, identity, revocation_reason, revoked_at";

    // Every connection: synchronous = FULL, so that a commit is on disk before it returns (in WAL mode NORMAL may lose the last
    // commits on power loss, https://sqlite.org/pragma.html#pragma_synchronous): an issued certificate is stored before it is sent.
    private const string ConnectionSetup = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA synchronous = FULL;";

    // Writes take one connection at a time (_writeLock); the rest serve reads in parallel with it.
    private const int PoolCapacity = 4;

    private readonly SqliteConnectionPool _pool;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    private SqliteCertificateStore(string connectionString, TimeProvider time)
    {
        _pool = new SqliteConnectionPool(connectionString, ConnectionSetup, PoolCapacity);
        _time = time;
    }

    /// <summary>
    /// Opens (creating if needed) the database at <paramref name="path"/> and its schema. A new database file is the owner's alone
    /// (0600), whatever the umask: it holds CMP shared secrets; SQLite gives its -wal and -shm files the database's mode.
    /// </summary>
    public static async Task<SqliteCertificateStore> OpenAsync(string path, TimeProvider? timeProvider, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!OperatingSystem.IsWindows() && !File.Exists(path))
        {
            try
            {
                // An empty file is a new database to SQLite.
                using var created = new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
            }
            catch (IOException) when (File.Exists(path))
            {
                // Created meanwhile by another opener: its mode stands.
            }
        }
        string connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
        var store = new SqliteCertificateStore(connectionString, timeProvider ?? TimeProvider.System);
        try
        {
            await store.CreateOrMigrateAsync(path, cancellationToken);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// How far <see cref="WriteBackupAsync"/> moves a backup's CRL number on, besides the clock floor the CA numbers CRLs with:
    /// the floor alone does not cover a CA whose numbers ran ahead of its clock (a clock that was once far ahead, or more than a
    /// thousand CRLs a second). Gaps are allowed (RFC 5280 §5.2.3); a 63-bit number has room for 2^31 such moves.
    /// </summary>
    public const long BackupCrlNumberGap = 1L << 32;

    /// <summary>
    /// Writes a consistent copy of the database at <paramref name="database"/> to <paramref name="destination"/> (a new file, the
    /// owner's alone), while servers may be writing to it: SQLite's <c>VACUUM INTO</c> reads one snapshot, and in WAL mode it waits
    /// for no writer. The copy's CRL number is moved on by <see cref="BackupCrlNumberGap"/> (the commit of that change also flushes
    /// the copy to disk, which VACUUM INTO does not). Returns the numbers of certificates and requests in the copy.
    /// </summary>
    public static async Task<(long Certificates, long Requests)> WriteBackupAsync(string database, string destination, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(database);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        if (!File.Exists(database))
        {
            throw new FileNotFoundException($"{database} does not exist", database);
        }

        // VACUUM INTO writes into a file that does not exist or is empty: created empty first, with the mode it keeps.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (new FileStream(destination, options))
        {
        }

        string source = new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 30 }.ToString();
        await using (var connection = new SqliteConnection(source))
        {
            await connection.OpenAsync(cancellationToken);
            await using SqliteCommand setup = connection.CreateCommand();
            setup.CommandText = "PRAGMA busy_timeout = 30000;";
            await setup.ExecuteNonQueryAsync(cancellationToken);
            await using SqliteCommand vacuum = connection.CreateCommand();
            vacuum.CommandText = "VACUUM INTO $destination;";
            vacuum.Parameters.AddWithValue("$destination", destination);
            await vacuum.ExecuteNonQueryAsync(cancellationToken);
        }

        string copy = new SqliteConnectionStringBuilder { DataSource = destination, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString();
        await using (var connection = new SqliteConnection(copy))
        {
            await connection.OpenAsync(cancellationToken);
            await using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "PRAGMA synchronous = FULL; UPDATE crl_state SET last_number = last_number + $gap WHERE id = 1; SELECT (SELECT COUNT(*) FROM certificates), (SELECT COUNT(*) FROM requests);";
            command.Parameters.AddWithValue("$gap", BackupCrlNumberGap);
            await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return (reader.GetInt64(0), reader.GetInt64(1));
        }
    }

    private async Task CreateOrMigrateAsync(string path, CancellationToken cancellationToken)
    {
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.Connection.BeginTransactionAsync(cancellationToken);
        long version = (long)(await ScalarAsync(connection, transaction, "PRAGMA user_version;", cancellationToken) ?? 0L);
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException($"{path}: schema version {version} is newer than this program's {SchemaVersion}");
        }

        if (version == 1)
        {
            await ExecuteAsync(connection, transaction, MigrateVersion1, cancellationToken);
        }

        if (version is 1 or 2)
        {
            await ExecuteAsync(connection, transaction, MigrateVersion2, cancellationToken);
        }

        // A store written by this version and set back (a test's or an operator's downgrade) may have the column already.
        if (version is 1 or 2 or 3 && await ScalarAsync(connection, transaction, "SELECT 1 FROM pragma_table_info('requests') WHERE name = 'registrar';", cancellationToken) is null)
        {
            await ExecuteAsync(connection, transaction, MigrateVersion3, cancellationToken);
        }

        await ExecuteAsync(connection, transaction, Schema, cancellationToken);
        await ExecuteAsync(connection, transaction, DropSupersededIndexes, cancellationToken);
        await ExecuteAsync(connection, transaction, SharedSecretSchema, cancellationToken);
        await ExecuteAsync(connection, transaction, TransactionSchema, cancellationToken);
        if (version == 1)
        {
            await BackfillVersion1Async(connection, transaction, cancellationToken);
        }

        await ExecuteAsync(connection, transaction, $"PRAGMA user_version = {SchemaVersion};", cancellationToken);
        await transaction.CommitAsync(cancellationToken);
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
        // The write transaction is BEGIN IMMEDIATE: it holds the database's write lock from the count to the commit, for every
        // process on the file, so the count cannot go stale before the insert.
        return WriteAsync(async (connection, transaction, now) =>
        {
            (int total, int ofIdentity) = await CountPendingAsync(connection, transaction, request.Identity ?? "", cancellationToken);
            if (ofIdentity >= limits.MaxPerIdentity || total >= limits.MaxTotal)
            {
                return new PendingAdmission(null, ofIdentity >= limits.MaxPerIdentity, total >= limits.MaxTotal, total);
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
            int changed = await ExecuteAsync(connection, transaction,
                "UPDATE requests SET status = 'issued', issued_serial = $serial, updated_at = $now WHERE id = $id AND status = 'pending';",
                cancellationToken, ("$serial", certificate.SerialNumber), ("$now", Format(now)), ("$id", requestId));
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
                "UPDATE requests SET status = 'rejected', reason_code = $code, reason = $reason, updated_at = $now WHERE id = $id AND status = 'pending';",
                cancellationToken, ("$code", reason.ToString()), ("$reason", detail), ("$now", Format(now)), ("$id", requestId));
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
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        return await GetRequestAsync(connection, null, requestId, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<StoredRequest?> GetRequestByKeyAsync(string requestKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requestKey);
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        IReadOnlyList<StoredRequest> rows = await QueryRequestsAsync(connection, null, $"SELECT {RequestColumns} FROM requests WHERE request_key = $key;", cancellationToken, ("$key", requestKey));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredRequest>> FindRequestsReplacingAsync(string serialNumber, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serialNumber);
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        // replaces_serial is written upper-case; requests_replaces seeks to the issued rows of this serial, past any refused ones.
        return await QueryRequestsAsync(lease.Connection, null,
            $"SELECT {RequestColumns} FROM requests WHERE replaces_serial = $serial AND status = 'issued' ORDER BY id LIMIT $limit;", cancellationToken,
            ("$serial", serialNumber.ToUpperInvariant()), ("$limit", CheckLimit(limit)));
    }

    /// <inheritdoc/>
    public async Task<(int Total, int OfIdentity)> CountPendingRequestsAsync(string identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        return await CountPendingAsync(lease.Connection, null, identity, cancellationToken);
    }

    // Both counts walk the pending rows of the status index only, never the whole table.
    private static async Task<(int Total, int OfIdentity)> CountPendingAsync(PooledSqliteConnection connection, SqliteTransaction? transaction, string identity,
        CancellationToken cancellationToken) =>
        (await QueryAsync(connection, transaction, "SELECT count(*), count(CASE WHEN identity = $identity THEN 1 END) FROM requests WHERE status = 'pending';",
            static reader => (reader.GetInt32(0), reader.GetInt32(1)), cancellationToken, ("$identity", identity)))[0];

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredRequest>> ListPendingRequestsAsync(int limit, CancellationToken cancellationToken)
    {
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        return await QueryRequestsAsync(connection, null, $"SELECT {RequestColumns} FROM requests WHERE status = 'pending' ORDER BY id LIMIT $limit;", cancellationToken, ("$limit", CheckLimit(limit)));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredRequest>> ListRequestsAsync(RequestStatus? status, int limit, CancellationToken cancellationToken)
    {
        int checkedLimit = CheckLimit(limit);
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        return status is { } only
            ? await QueryRequestsAsync(connection, null, $"SELECT {RequestColumns} FROM requests WHERE status = $status ORDER BY id DESC LIMIT $limit;", cancellationToken,
                ("$status", ToText(only)), ("$limit", checkedLimit))
            : await QueryRequestsAsync(connection, null, $"SELECT {RequestColumns} FROM requests ORDER BY id DESC LIMIT $limit;", cancellationToken, ("$limit", checkedLimit));
    }

    /// <inheritdoc/>
    public async Task<StoredCertificate?> GetCertificateAsync(string serialNumber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(serialNumber);
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        IReadOnlyList<StoredCertificate> rows = await QueryCertificatesAsync(connection, $"SELECT {CertificateColumns} FROM certificates WHERE serial = $serial;", cancellationToken, ("$serial", serialNumber.ToUpperInvariant()));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredCertificate>> FindCertificatesByRequesterAsync(string requester, int limit, CancellationToken cancellationToken)
    {
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        return await QueryCertificatesAsync(connection, $"SELECT {CertificateColumns} FROM certificates WHERE requester = $requester ORDER BY created_at DESC, rowid DESC LIMIT $limit;",
            cancellationToken, ("$requester", requester), ("$limit", CheckLimit(limit)));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredCertificate>> FindCertificatesBySubjectAsync(string subject, int limit, CancellationToken cancellationToken)
    {
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        return await QueryCertificatesAsync(connection, $"SELECT {CertificateColumns} FROM certificates WHERE subject = $subject ORDER BY created_at DESC, rowid DESC LIMIT $limit;",
            cancellationToken, ("$subject", subject), ("$limit", CheckLimit(limit)));
    }

    /// <inheritdoc/>
    public async Task<StoredCertificate?> FindNameHolderAsync(X500DistinguishedName subject, string identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(identity);
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        IReadOnlyList<StoredCertificate> rows = await QueryCertificatesAsync(connection,
            $"""
            SELECT {CertificateColumns} FROM (
                SELECT {CertificateColumns}, rowid AS holder_rowid FROM certificates WHERE {HeldBelow}
                UNION ALL
                SELECT {CertificateColumns}, rowid AS holder_rowid FROM certificates WHERE {HeldAbove})
            ORDER BY created_at DESC, holder_rowid DESC LIMIT 1;
            """,
            cancellationToken, ("$key", DistinguishedNames.Key(subject)), ("$now", Format(_time.GetUtcNow())), ("$identity", identity));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<StoredCertificate>> ListCertificatesAsync(int limit, CancellationToken cancellationToken)
    {
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        return await QueryCertificatesAsync(connection, $"SELECT {CertificateColumns} FROM certificates ORDER BY created_at DESC, rowid DESC LIMIT $limit;",
            cancellationToken, ("$limit", CheckLimit(limit)));
    }

    /// <inheritdoc/>
    public Task<bool> SetCertificateStatusAsync(string serialNumber, CertificateStatus status, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, now) =>
        {
            // A certificate revoked this way is revoked for an unspecified reason (0), now. Revocation is final: the WHERE clause
            // leaves a revoked row alone unless it is set to revoked again, which keeps its first reason and time.
            int changed = await ExecuteAsync(connection, transaction, """
                UPDATE certificates SET status = $status, updated_at = $now,
                    revocation_reason = CASE WHEN $status = 'revoked' THEN COALESCE(revocation_reason, 0) END,
                    revoked_at = CASE WHEN $status = 'revoked' THEN COALESCE(revoked_at, $now) END
                WHERE serial = $serial AND (status <> 'revoked' OR $status = 'revoked');
                """, cancellationToken, ("$status", ToText(status)), ("$now", Format(now)), ("$serial", serialNumber.ToUpperInvariant()));
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
    public async Task<IReadOnlyList<RevokedCertificate>> ListRevokedAsync(CancellationToken cancellationToken)
    {
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        return await QueryAsync(connection, null,
            "SELECT serial, COALESCE(revoked_at, updated_at), COALESCE(revocation_reason, 0) FROM certificates WHERE status = 'revoked' ORDER BY serial;",
            reader => new RevokedCertificate(reader.GetString(0), Parse(reader.GetString(1)), (int)reader.GetInt64(2)), cancellationToken);
    }

    /// <inheritdoc/>
    public Task<long> NextCrlNumberAsync(long atLeast, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, now) =>
            (long)(await ScalarAsync(connection, transaction, "UPDATE crl_state SET last_number = MAX(last_number + 1, $atLeast) WHERE id = 1 RETURNING last_number;",
                cancellationToken, ("$atLeast", atLeast)))!,
            cancellationToken);

    /// <inheritdoc/>
    public Task AppendAuditAsync(AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, transaction, now) =>
        {
            await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
            return true;
        }, cancellationToken);

    /// <inheritdoc/>
    public async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken cancellationToken)
    {
        using SqliteLease lease = await _pool.RentAsync(cancellationToken);
        PooledSqliteConnection connection = lease.Connection;
        return await QueryAsync(connection, null, "SELECT id, timestamp, actor, action, details FROM audit_log ORDER BY id DESC LIMIT $limit;",
            reader => new AuditEntry
            {
                Id = reader.GetInt64(0),
                Timestamp = Parse(reader.GetString(1)),
                Actor = reader.GetString(2),
                Action = reader.GetString(3),
                Details = reader.GetString(4),
            }, cancellationToken, ("$limit", CheckLimit(limit)));
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() =>
        // Closes the connections so the database file is released (and its WAL checkpointed). _writeLock is left to the GC: an
        // operation still under way when the store is disposed releases it, and then fails to rent a connection.
        _pool.DisposeAsync();

    private async Task<T> WriteAsync<T>(Func<PooledSqliteConnection, SqliteTransaction, DateTimeOffset, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            using SqliteLease lease = await _pool.RentAsync(cancellationToken);
            PooledSqliteConnection connection = lease.Connection;
            // BEGIN IMMEDIATE: take the write lock up front, so concurrent writers (other processes) wait instead of failing on upgrade.
            // (Microsoft.Data.Sqlite begins IMMEDIATE unless ReadUncommitted is asked for.)
            await using var transaction = (SqliteTransaction)await connection.Connection.BeginTransactionAsync(cancellationToken);
            T result;
            try
            {
                result = await work(connection, transaction, _time.GetUtcNow());
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19 /* SQLITE_CONSTRAINT */)
            {
                throw TranslateConstraint(ex);
            }

            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            _writeLock.Release();
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
                UPDATE certificates SET status = 'revoked', revocation_reason = $reason, revoked_at = $at, updated_at = $now
                WHERE serial = $serial AND status <> 'revoked';
                """, cancellationToken, ("$reason", reason), ("$at", Format(time)), ("$now", Format(now)), ("$serial", serial));
            if (changed == 1)
            {
                if (audit is not null)
                {
                    await InsertAuditAsync(connection, transaction, audit, now, cancellationToken);
                }

                return RevocationStatus.Revoked;
            }

            object? exists = await ScalarAsync(connection, transaction, "SELECT 1 FROM certificates WHERE serial = $serial;", cancellationToken, ("$serial", serial));
            return exists is null ? RevocationStatus.UnknownCertificate : RevocationStatus.AlreadyRevoked;
        }, cancellationToken);
    }

    private static CertificateStoreConflictException TranslateConstraint(SqliteException ex)
    {
        if (ex.Message.Contains("certificates.serial", StringComparison.Ordinal))
        {
            return new CertificateStoreConflictException(StoreConflict.SerialNumber, "a certificate with this serial number exists", ex);
        }

        if (ex.Message.Contains("requests.request_key", StringComparison.Ordinal))
        {
            return new CertificateStoreConflictException(StoreConflict.RequestKey, "a request with this request key exists", ex);
        }

        return new CertificateStoreConflictException(StoreConflict.RequestState, $"constraint violated: {ex.Message}", ex);
    }

    private static async Task<StoredRequest> InsertRequestAsync(PooledSqliteConnection connection, SqliteTransaction transaction, StoredRequest request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        bool rejected = request.Status == RequestStatus.Rejected;
        object? id = await ScalarAsync(connection, transaction, """
            INSERT INTO requests (request_key, csr, override_public_key, requester, identity, protocol, profile, status, reason_code, reason, replaces_serial, issued_serial, created_at, updated_at, registrar)
            VALUES ($key, $csr, $override, $requester, $identity, $protocol, $profile, $status, $code, $reason, $replaces, $issued, $now, $now, $registrar)
            RETURNING id;
            """, cancellationToken,
            ("$key", request.RequestKey), ("$csr", request.CsrDer), ("$override", request.OverridePublicKey), ("$requester", request.Requester), ("$identity", request.Identity ?? request.Requester),
            ("$protocol", request.Protocol), ("$profile", request.Profile), ("$status", ToText(request.Status)), ("$code", rejected ? request.RejectionReason.ToString() : null),
            ("$reason", rejected ? request.ReasonDetail : null), ("$replaces", request.ReplacesSerialNumber), ("$issued", request.IssuedSerialNumber), ("$now", Format(now)),
            ("$registrar", request.Registrar));
        return request with
        {
            Id = (long)id!,
            Identity = request.Identity ?? request.Requester,
            CreatedAt = Truncate(now),
            UpdatedAt = Truncate(now),
            RejectionReason = rejected ? request.RejectionReason : RejectionReason.None,
            ReasonDetail = rejected ? request.ReasonDetail : null,
        };
    }

    private static async Task InsertCertificateAsync(PooledSqliteConnection connection, SqliteTransaction transaction, StoredCertificate certificate, long requestId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        string identity = certificate.Identity ?? certificate.Requester;
        string subjectKey = SubjectKeyOf(certificate.Der);
        if (certificate.Status == CertificateStatus.Active)
        {
            // One name, one holder: checked in the transaction of the insert, so two identities asking at once cannot both win.
            object? holder = await ScalarAsync(connection, transaction, $"SELECT serial FROM certificates WHERE {HeldBelow} UNION ALL SELECT serial FROM certificates WHERE {HeldAbove} LIMIT 1;",
                cancellationToken, ("$key", subjectKey), ("$now", Format(now)), ("$identity", identity));
            if (holder is string serial)
            {
                throw new CertificateStoreConflictException(StoreConflict.SubjectHeld, $"the subject is held by active certificate {serial} of another identity");
            }
        }

        await ExecuteAsync(connection, transaction, """
            INSERT INTO certificates (serial, request_id, subject, issuer, not_before, not_after, der, public_key_sha256, profile, requester, identity, subject_key, status, replaces_serial, created_at, updated_at)
            VALUES ($serial, $request, $subject, $issuer, $nb, $na, $der, $pk, $profile, $requester, $identity, $subjectKey, $status, $replaces, $now, $now);
            """, cancellationToken,
            ("$serial", certificate.SerialNumber.ToUpperInvariant()), ("$request", requestId), ("$subject", certificate.Subject), ("$issuer", certificate.Issuer),
            ("$nb", Format(certificate.NotBefore)), ("$na", Format(certificate.NotAfter)), ("$der", certificate.Der), ("$pk", certificate.PublicKeySha256),
            ("$profile", certificate.Profile), ("$requester", certificate.Requester), ("$identity", identity), ("$subjectKey", subjectKey),
            ("$status", ToText(certificate.Status)), ("$replaces", certificate.ReplacesSerialNumber?.ToUpperInvariant()), ("$now", Format(now)));
        if (certificate.ReplacesSerialNumber is not null)
        {
            // Re-enrollment (RFC 7030 section 4.2.2): the certificate being replaced stops being the current one.
            await ExecuteAsync(connection, transaction, "UPDATE certificates SET status = 'superseded', updated_at = $now WHERE serial = $serial AND status = 'active';",
                cancellationToken, ("$serial", certificate.ReplacesSerialNumber.ToUpperInvariant()), ("$now", Format(now)));
        }
    }

    private static Task<int> InsertAuditAsync(PooledSqliteConnection connection, SqliteTransaction transaction, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken)
    {
        string details = audit.Details.Length > AuditEntry.MaxDetailsLength ? audit.Details[..AuditEntry.MaxDetailsLength] : audit.Details;
        return ExecuteAsync(connection, transaction, "INSERT INTO audit_log (timestamp, actor, action, details) VALUES ($at, $actor, $action, $details);",
            cancellationToken, ("$at", Format(audit.Timestamp == default ? now : audit.Timestamp)), ("$actor", audit.Actor), ("$action", audit.Action), ("$details", details));
    }

    private static async Task<StoredRequest?> GetRequestAsync(PooledSqliteConnection connection, SqliteTransaction? transaction, long requestId, CancellationToken cancellationToken)
    {
        IReadOnlyList<StoredRequest> rows = await QueryRequestsAsync(connection, transaction, $"SELECT {RequestColumns} FROM requests WHERE id = $id;", cancellationToken, ("$id", requestId));
        return rows.Count == 0 ? null : rows[0];
    }

    private static async Task<IReadOnlyList<StoredRequest>> QueryRequestsAsync(PooledSqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        await QueryAsync(connection, transaction, sql, ReadRequest, cancellationToken, parameters);

    private static StoredRequest ReadRequest(SqliteDataReader reader) =>
        new StoredRequest
        {
            Id = reader.GetInt64(0),
            RequestKey = reader.IsDBNull(1) ? null : reader.GetString(1),
            CsrDer = (byte[])reader.GetValue(2),
            OverridePublicKey = reader.IsDBNull(3) ? null : (byte[])reader.GetValue(3),
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
            CreatedAt = Parse(reader.GetString(12)),
            UpdatedAt = Parse(reader.GetString(13)),
            Identity = reader.IsDBNull(14) ? reader.GetString(4) : reader.GetString(14),
            Registrar = reader.IsDBNull(15) ? null : reader.GetString(15),
        };

    private static async Task<IReadOnlyList<StoredCertificate>> QueryCertificatesAsync(PooledSqliteConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        await QueryAsync(connection, null, sql, ReadCertificate, cancellationToken, parameters);

    private static StoredCertificate ReadCertificate(SqliteDataReader reader) =>
        new StoredCertificate
        {
            SerialNumber = reader.GetString(0),
            RequestId = reader.GetInt64(1),
            Subject = reader.GetString(2),
            Issuer = reader.GetString(3),
            NotBefore = Parse(reader.GetString(4)),
            NotAfter = Parse(reader.GetString(5)),
            Der = (byte[])reader.GetValue(6),
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
            CreatedAt = Parse(reader.GetString(12)),
            Identity = reader.IsDBNull(13) ? reader.GetString(9) : reader.GetString(13),
            RevocationReason = reader.IsDBNull(14) ? null : (int)reader.GetInt64(14),
            RevokedAt = reader.IsDBNull(15) ? null : Parse(reader.GetString(15)),
        };

    private static string SubjectKeyOf(byte[] der)
    {
        if (DistinguishedNames.SubjectKeyOfCertificate(der) is { } key)
        {
            return key;
        }

        // Not read as a certificate above: as before, the platform decides (and throws for what it cannot load).
        using X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(der);
        return DistinguishedNames.Key(certificate.SubjectName);
    }

    // Version 1 stored no identity. A certificate's is found by following its requester (the subject and SHA-256 thumbprint of the
    // certificate that asked) back through the certificates of this store to the first requester that is not one of them, which is
    // what the enrollment service now records. Every certificate gets its subject key.
    private static async Task BackfillVersion1Async(PooledSqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        const string Thumbprint = " sha256:";
        var requesters = new Dictionary<string, string>(StringComparer.Ordinal);
        var byThumbprint = new Dictionary<string, string>(StringComparer.Ordinal);
        var rows = new List<(string Serial, byte[] Der)>();
        foreach ((string serial, byte[] der, string requester) in await QueryAsync(connection, transaction, "SELECT serial, der, requester FROM certificates;",
            reader => (reader.GetString(0), (byte[])reader.GetValue(1), reader.GetString(2)), cancellationToken))
        {
            rows.Add((serial, der));
            requesters[serial] = requester;
            byThumbprint[Convert.ToHexString(SHA256.HashData(der))] = serial;
        }

        string IdentityOf(string requester)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                int at = requester.LastIndexOf(Thumbprint, StringComparison.Ordinal);
                if (at < 0 || !byThumbprint.TryGetValue(requester[(at + Thumbprint.Length)..], out string? serial) || !seen.Add(serial))
                {
                    return requester;
                }

                requester = requesters[serial];
            }
        }

        foreach ((string serial, byte[] der) in rows)
        {
            await ExecuteAsync(connection, transaction, "UPDATE certificates SET identity = $identity, subject_key = $key WHERE serial = $serial;", cancellationToken,
                ("$identity", IdentityOf(requesters[serial])), ("$key", SubjectKeyOf(der)), ("$serial", serial));
        }

        List<string> requestRequesters = await QueryAsync(connection, transaction, "SELECT DISTINCT requester FROM requests;", reader => reader.GetString(0), cancellationToken);

        foreach (string requester in requestRequesters)
        {
            await ExecuteAsync(connection, transaction, "UPDATE requests SET identity = $identity WHERE requester = $requester;", cancellationToken,
                ("$identity", IdentityOf(requester)), ("$requester", requester));
        }
    }

    private static async Task<int> ExecuteAsync(PooledSqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        SqliteCommand command = connection.Command(sql, transaction, parameters);
        try
        {
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            PooledSqliteConnection.Release(command);
        }
    }

    private static async Task<object?> ScalarAsync(PooledSqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        SqliteCommand command = connection.Command(sql, transaction, parameters);
        try
        {
            return await command.ExecuteScalarAsync(cancellationToken);
        }
        finally
        {
            PooledSqliteConnection.Release(command);
        }
    }

    private static async Task<List<T>> QueryAsync<T>(PooledSqliteConnection connection, SqliteTransaction? transaction, string sql, Func<SqliteDataReader, T> read,
        CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        SqliteCommand command = connection.Command(sql, transaction, parameters);
        try
        {
            await using SqliteDataReader reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<T>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(read(reader));
            }

            return rows;
        }
        finally
        {
            PooledSqliteConnection.Release(command);
        }
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

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset Truncate(DateTimeOffset time) => Parse(Format(time));

    private static DateTimeOffset Parse(string text) =>
        new(DateTime.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), TimeSpan.Zero);
}
