namespace CoapEnroll.Ca;

/// <summary>A connection lent by a <see cref="SqliteConnectionPool"/>; disposing it gives the connection back, once.</summary>
internal struct SqliteLease : IDisposable
{
    private SqliteConnectionPool? _pool;

    internal SqliteLease(SqliteConnectionPool pool, PooledSqliteConnection connection)
    {
        _pool = pool;
        Connection = connection;
    }

    public PooledSqliteConnection Connection { get; }

    public void Dispose()
    {
        SqliteConnectionPool? pool = _pool;
        _pool = null;
        pool?.Return(Connection);
    }
}
