using System.Data.Common;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace CoapEnroll.Ca;

/// <summary>
/// The certificate store cannot be reached or cannot write for now (the database server is down or restarting, refuses
/// connections or logins, the disk is full, another process holds the database locked): nothing of the request was kept.
/// </summary>
public sealed class CertificateStoreUnavailableException : CaUnavailableException
{
    public CertificateStoreUnavailableException()
        : this("the certificate store is unavailable")
    {
    }

    public CertificateStoreUnavailableException(string message)
        : base(message, null)
    {
    }

    public CertificateStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public override string ClientReason => "the certificate store is unavailable";

    /// <summary>
    /// True for a store failure that is the store's state rather than the request's or the server's: what the provider calls
    /// transient, a PostgreSQL connection, login, resource or shutdown error (SQLSTATE classes 08, 28, 3D, 53, 57, 58), and SQLite's
    /// busy, locked, out of memory, read-only, I/O, full, cannot-open and protocol results. Constraint and data errors are not:
    /// the same request would meet them again.
    /// </summary>
    public static bool IsOutage(DbException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception.IsTransient)
        {
            return true;
        }

        if (exception is SqliteException sqlite)
        {
            return sqlite.SqliteErrorCode is raw.SQLITE_BUSY or raw.SQLITE_LOCKED or raw.SQLITE_NOMEM or raw.SQLITE_READONLY
                or raw.SQLITE_IOERR or raw.SQLITE_FULL or raw.SQLITE_CANTOPEN or raw.SQLITE_PROTOCOL;
        }

        return exception.SqlState is { Length: 5 } state && state[..2] is "08" or "28" or "3D" or "53" or "57" or "58";
    }
}
