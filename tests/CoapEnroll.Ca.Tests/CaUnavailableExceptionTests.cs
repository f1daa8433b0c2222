using Microsoft.Data.Sqlite;
using Npgsql;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// <see cref="CaUnavailableException.From"/>: which failures a client is told to retry (5.03, 503, systemUnavail) and which stay the
/// server's own (5.00, 500, systemFailure). An outage of the store is its state (down, full, locked, refusing logins); a constraint
/// or data error would meet the same request again.
/// </summary>
public class CaUnavailableExceptionTests
{
    [Theory]
    [InlineData(5)] // SQLITE_BUSY: another process holds the database past the busy timeout
    [InlineData(8)] // SQLITE_READONLY
    [InlineData(10)] // SQLITE_IOERR
    [InlineData(13)] // SQLITE_FULL
    [InlineData(14)] // SQLITE_CANTOPEN
    public void SqliteOutages_AreTheStoreUnavailable(int code)
    {
        var failure = new SqliteException("SQLite Error: disk I/O error.", code);

        var unavailable = Assert.IsType<CertificateStoreUnavailableException>(CaUnavailableException.From(failure));

        Assert.Same(failure, unavailable.InnerException);
        Assert.Equal("the certificate store is unavailable", unavailable.ClientReason);
        Assert.Contains("disk I/O error", unavailable.Message, StringComparison.Ordinal);
        Assert.Equal(CaUnavailableException.DefaultRetryAfterSeconds, unavailable.RetryAfterSeconds);
    }

    [Theory]
    [InlineData(19)] // SQLITE_CONSTRAINT
    [InlineData(1)] // SQLITE_ERROR (a statement the schema does not have)
    [InlineData(11)] // SQLITE_CORRUPT: no retry mends it
    public void OtherSqliteFailures_AreTheServersOwn(int code) =>
        Assert.Null(CaUnavailableException.From(new SqliteException("SQLite Error", code)));

    [Theory]
    [InlineData("08006")] // connection failure
    [InlineData("28P01")] // the password was changed under the running server
    [InlineData("3D000")] // the database was dropped or renamed
    [InlineData("53300")] // too many connections
    [InlineData("57P01")] // administrator shutdown
    [InlineData("58030")] // I/O error
    public void PostgresOutages_AreTheStoreUnavailable(string sqlState) =>
        Assert.IsType<CertificateStoreUnavailableException>(CaUnavailableException.From(new PostgresException("down", "FATAL", "FATAL", sqlState)));

    [Theory]
    [InlineData("23505")] // unique violation
    [InlineData("22001")] // value too long
    [InlineData("42P01")] // undefined table
    public void OtherPostgresFailures_AreTheServersOwn(string sqlState) =>
        Assert.Null(CaUnavailableException.From(new PostgresException("bad", "ERROR", "ERROR", sqlState)));

    [Fact]
    public void AnOutageInsideAnotherException_IsFound_AndOtherExceptionsAreNot()
    {
        var store = new SqliteException("database is locked", 5);
        Assert.IsType<CertificateStoreUnavailableException>(CaUnavailableException.From(new InvalidOperationException("wrapped", store)));

        var key = new CaKeyUnavailableException("token removed") { RetryAfterSeconds = 9 };
        Assert.Same(key, CaUnavailableException.From(new AggregateException(key)));
        Assert.Equal("the CA key is unavailable", key.ClientReason);

        Assert.Null(CaUnavailableException.From(new InvalidOperationException("a bug")));
        Assert.Null(CaUnavailableException.From(new ObjectDisposedException("store")));
    }
}
