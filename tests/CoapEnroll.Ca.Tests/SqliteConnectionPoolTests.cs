using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// The store's connection pool: bounded, connections set up once and lent to one operation at a time, statements kept per
/// connection without the values last bound to them, unusable connections closed, everything closed on dispose; and the store on it
/// under concurrent use, disposed and opened again.
/// </summary>
public sealed class SqliteConnectionPoolTests : IDisposable
{
    private readonly TempDirectory _directory = new("coapenroll-pool-");

    private string Database => _directory.File("pool.db");

    private string ConnectionString => new SqliteConnectionStringBuilder { DataSource = Database, Pooling = false }.ToString();

    [Fact]
    public async Task Concurrent_operations_never_hold_more_connections_than_the_capacity_and_reuse_them_with_their_setup_and_statements()
    {
        await using var pool = new SqliteConnectionPool(ConnectionString, "PRAGMA busy_timeout = 4321;", 3);
        int held = 0, most = 0;
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<PooledSqliteConnection, bool>();
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            using SqliteLease lease = await pool.RentAsync(CancellationToken.None);
            int now = Interlocked.Increment(ref held);
            InterlockedMax(ref most, now);
            seen.TryAdd(lease.Connection, true);
            SqliteCommand command = lease.Connection.Command("SELECT $x * 2;", null, [("$x", i)]);
            Assert.Equal(2L * i, (long)(await command.ExecuteScalarAsync())!);
            PooledSqliteConnection.Release(command);
            Assert.Equal(4321L, (long)(await lease.Connection.Command("PRAGMA busy_timeout;", null, []).ExecuteScalarAsync())!);
            await Task.Delay(2);
            Interlocked.Decrement(ref held);
        })));

        Assert.InRange(most, 1, 3);
        Assert.InRange(seen.Count, 1, 3);
        Assert.Equal(seen.Count, pool.IdleCount);
        Assert.All(seen.Keys, c => Assert.Equal(2, c.CommandCount));
    }

    [Fact]
    public async Task A_caller_beyond_the_capacity_waits_for_a_connection_to_come_back_and_a_cancelled_wait_takes_no_slot()
    {
        await using var pool = new SqliteConnectionPool(ConnectionString, "PRAGMA foreign_keys = ON;", 1);
        SqliteLease first = await pool.RentAsync(CancellationToken.None);
        PooledSqliteConnection connection = first.Connection;

        using (var cancelled = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pool.RentAsync(cancelled.Token));
        }

        ValueTask<SqliteLease> waiting = pool.RentAsync(CancellationToken.None);
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);
        first.Dispose();
        first.Dispose();
        SqliteLease second = await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Same(connection, second.Connection);
        second.Dispose();
        Assert.Equal(1, pool.IdleCount);
    }

    [Fact]
    public async Task A_connection_given_back_with_its_transaction_open_is_closed_not_lent_again()
    {
        await using var pool = new SqliteConnectionPool(ConnectionString, "PRAGMA foreign_keys = ON;", 2);
        PooledSqliteConnection abandoned;
        using (SqliteLease lease = await pool.RentAsync(CancellationToken.None))
        {
            abandoned = lease.Connection;
            await lease.Connection.Command("BEGIN IMMEDIATE;", null, []).ExecuteNonQueryAsync();
        }

        Assert.Equal(0, pool.IdleCount);
        Assert.Equal(System.Data.ConnectionState.Closed, abandoned.Connection.State);
        using SqliteLease next = await pool.RentAsync(CancellationToken.None);
        Assert.NotSame(abandoned, next.Connection);
        // The abandoned transaction went with its connection, so this one can write.
        await next.Connection.Command("CREATE TABLE t (x);", null, []).ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_kept_statement_holds_no_value_once_released_and_the_number_kept_is_bounded()
    {
        await using var pool = new SqliteConnectionPool(ConnectionString, "PRAGMA foreign_keys = ON;", 1);
        using SqliteLease lease = await pool.RentAsync(CancellationToken.None);
        byte[] secret = RandomNumberGenerator.GetBytes(16);
        SqliteCommand command = lease.Connection.Command("SELECT length($secret);", null, [("$secret", secret)]);
        Assert.Equal(16L, (long)(await command.ExecuteScalarAsync())!);
        PooledSqliteConnection.Release(command);
        Assert.All(command.Parameters.Cast<SqliteParameter>(), p => Assert.Equal(DBNull.Value, p.Value));
        Assert.Same(command, lease.Connection.Command("SELECT length($secret);", null, [("$secret", new byte[3])]));
        Assert.Equal(3L, (long)(await command.ExecuteScalarAsync())!);

        for (int i = 0; i < PooledSqliteConnection.MaxCommands * 2; i++)
        {
            Assert.Equal((long)i, (long)(await lease.Connection.Command($"SELECT {i};", null, []).ExecuteScalarAsync())!);
            Assert.InRange(lease.Connection.CommandCount, 1, PooledSqliteConnection.MaxCommands);
        }
    }

    [Fact]
    public async Task Dispose_closes_idle_connections_at_once_and_lent_ones_when_they_come_back_and_renting_then_fails()
    {
        var pool = new SqliteConnectionPool(ConnectionString, "PRAGMA foreign_keys = ON;", 2);
        SqliteLease idle = await pool.RentAsync(CancellationToken.None);
        SqliteLease lent = await pool.RentAsync(CancellationToken.None);
        PooledSqliteConnection idleConnection = idle.Connection;
        idle.Dispose();

        await pool.DisposeAsync();
        await pool.DisposeAsync();
        Assert.Equal(System.Data.ConnectionState.Closed, idleConnection.Connection.State);
        Assert.Equal(System.Data.ConnectionState.Open, lent.Connection.Connection.State);
        Assert.Equal(1L, (long)(await lent.Connection.Command("SELECT 1;", null, []).ExecuteScalarAsync())!);
        lent.Dispose();
        Assert.Equal(System.Data.ConnectionState.Closed, lent.Connection.Connection.State);
        Assert.Equal(0, pool.IdleCount);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await pool.RentAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_store_under_concurrent_writes_and_reads_keeps_every_certificate_and_after_dispose_releases_the_file_and_opens_again()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string path = ca.Hierarchy.Layout.Database;
        const int Devices = 24;
        IssuanceResult[] results = await Task.WhenAll(Enumerable.Range(0, Devices).Select(i => Task.Run(async () =>
        {
            // Each device asks whether its name is free, is issued, and reads its certificate back, all at once with the others.
            X500DistinguishedName name = new($"CN=dev-{i}");
            Assert.Null(await ca.Store.FindNameHolderAsync(name, $"device-{i}", CancellationToken.None));
            IssuanceResult issued = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr($"CN=dev-{i}"), requester: $"device-{i}"), CancellationToken.None);
            Assert.Equal(IssuanceStatus.Issued, issued.Status);
            Assert.Equal($"device-{i}", (await ca.Store.GetCertificateAsync(issued.Certificate!.SerialNumber, CancellationToken.None))!.Identity);
            Assert.Equal(issued.Certificate.SerialNumber, (await ca.Store.FindNameHolderAsync(name, "someone else", CancellationToken.None))?.SerialNumber);
            return issued;
        })));
        Assert.Equal(Devices, (await ca.Store.ListCertificatesAsync(100, CancellationToken.None)).Count);

        await ca.Store.DisposeAsync();
        // The last connection closed checkpoints the WAL and removes it: nothing is left open.
        Assert.False(File.Exists(path + "-wal"));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ca.Store.ListCertificatesAsync(10, CancellationToken.None));

        await ca.RestartAsync();
        Assert.Equal(results.Select(r => r.Certificate!.SerialNumber).Order(StringComparer.Ordinal),
            (await ca.Store.ListCertificatesAsync(100, CancellationToken.None)).Select(c => c.SerialNumber).Order(StringComparer.Ordinal));
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-after"), requester: "after"), CancellationToken.None)).Status);
    }

    public void Dispose() => _directory.Dispose();

    private static void InterlockedMax(ref int target, int value)
    {
        int current = Volatile.Read(ref target);
        while (value > current)
        {
            int seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
