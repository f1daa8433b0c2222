using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca;

/// <summary>
/// At most <see cref="Capacity"/> open connections to one database, each set up once (<c>setup</c>: its PRAGMAs) when opened and
/// then lent to one operation at a time. A caller beyond the capacity waits for a connection to come back. A connection that comes
/// back unusable (closed, or with a transaction still open) is closed instead of kept. Thread-safe.
/// </summary>
internal sealed class SqliteConnectionPool : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly string _setup;
    private readonly SemaphoreSlim _slots;
    private readonly Stack<PooledSqliteConnection> _idle = new();
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <param name="connectionString">Should turn Microsoft.Data.Sqlite's own pooling off: this pool keeps the connections.</param>
    /// <param name="setup">Run once on every connection this pool opens.</param>
    /// <param name="capacity">The most connections open at once.</param>
    public SqliteConnectionPool(string connectionString, string setup, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _connectionString = connectionString;
        _setup = setup;
        Capacity = capacity;
        _slots = new SemaphoreSlim(capacity, capacity);
    }

    public int Capacity { get; }

    /// <summary>Open connections waiting to be lent.</summary>
    internal int IdleCount
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>Lends a connection; dispose the lease to give it back.</summary>
    public async ValueTask<SqliteLease> RentAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        await _slots.WaitAsync(cancellationToken);
        PooledSqliteConnection? connection = null;
        try
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _idle.TryPop(out connection);
            }

            connection ??= await OpenAsync(cancellationToken);
            return new SqliteLease(this, connection);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <summary>Takes back a lent connection (through <see cref="SqliteLease.Dispose"/>).</summary>
    internal void Return(PooledSqliteConnection connection)
    {
        bool keep = connection.IsReusable;
        lock (_lock)
        {
            keep &= !_disposed;
            if (keep)
            {
                _idle.Push(connection);
            }
        }

        if (!keep)
        {
            connection.Dispose();
        }

        _slots.Release();
    }

    /// <summary>
    /// Closes the idle connections, and each lent one when it comes back; renting fails from now on. Closing the last connection
    /// checkpoints the WAL into the database file and releases it.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        PooledSqliteConnection[] idle;
        lock (_lock)
        {
            if (_disposed)
            {
                return ValueTask.CompletedTask;
            }

            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }

        foreach (PooledSqliteConnection connection in idle)
        {
            connection.Dispose();
        }

        // _slots is not disposed: a lease still out releases it when it comes back.
        return ValueTask.CompletedTask;
    }

    private async Task<PooledSqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using (SqliteCommand command = connection.CreateCommand())
            {
                command.CommandText = _setup;
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            return new PooledSqliteConnection(connection);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
