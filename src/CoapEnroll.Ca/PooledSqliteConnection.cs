using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca;

/// <summary>
/// One open connection of a <see cref="SqliteConnectionPool"/> with the commands run on it, each prepared once: SQLite compiles a
/// statement when a command first runs and keeps it while the command lives with the same text (Microsoft.Data.Sqlite), so a
/// command kept here is compiled once per connection, not once per operation. Used by one operation at a time.
/// </summary>
internal sealed class PooledSqliteConnection : IDisposable
{
    // The store runs a fixed set of statement texts; a caller with texts built at run time would only fill this, so past it the
    // cache starts over rather than grow.
    internal const int MaxCommands = 64;

    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public PooledSqliteConnection(SqliteConnection connection) => Connection = connection;

    public SqliteConnection Connection { get; }

    /// <summary>How many prepared commands this connection keeps.</summary>
    internal int CommandCount => _commands.Count;

    /// <summary>
    /// True when the connection can serve another operation: open, and no transaction left open on it (SQLite in autocommit mode).
    /// </summary>
    internal bool IsReusable =>
        Connection.State == System.Data.ConnectionState.Open && SQLitePCL.raw.sqlite3_get_autocommit(Connection.Handle) != 0;

    /// <summary>
    /// The command for <paramref name="sql"/> with its parameters set to <paramref name="parameters"/>; owned by this connection,
    /// so the caller does not dispose it, and calls <see cref="Release"/> when it has read the results.
    /// </summary>
    public SqliteCommand Command(string sql, SqliteTransaction? transaction, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (!_commands.TryGetValue(sql, out SqliteCommand? command))
        {
            if (_commands.Count >= MaxCommands)
            {
                DisposeCommands();
            }

            command = Connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }

        command.Transaction = transaction;
        SqliteParameterCollection bound = command.Parameters;
        if (!SameNames(bound, parameters))
        {
            bound.Clear();
            foreach ((string name, object? value) in parameters)
            {
                bound.AddWithValue(name, value ?? DBNull.Value);
            }
        }
        else
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                bound[i].Value = parameters[i].Value ?? DBNull.Value;
            }
        }

        return command;
    }

    /// <summary>Drops the values bound to <paramref name="command"/>, so that a kept command holds no request or secret.</summary>
    public static void Release(SqliteCommand command)
    {
        command.Transaction = null;
        foreach (SqliteParameter parameter in command.Parameters)
        {
            parameter.Value = DBNull.Value;
        }
    }

    public void Dispose()
    {
        DisposeCommands();
        Connection.Dispose();
    }

    private static bool SameNames(SqliteParameterCollection bound, ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        if (bound.Count != parameters.Length)
        {
            return false;
        }

        for (int i = 0; i < parameters.Length; i++)
        {
            if (!string.Equals(bound[i].ParameterName, parameters[i].Name, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private void DisposeCommands()
    {
        foreach (SqliteCommand command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
    }
}
