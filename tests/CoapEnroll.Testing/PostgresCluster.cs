using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace CoapEnroll.Testing;

/// <summary>
/// A throwaway PostgreSQL cluster in a temporary directory, listening on 127.0.0.1 on a free port with trust authentication, for
/// the tests of the PostgreSQL store: started once per test run (a collection fixture), one fresh database per test
/// (<see cref="CreateDatabaseAsync"/>), stopped and deleted on dispose.
/// </summary>
/// <remarks>
/// The server binaries are those of <c>COAPENROLL_PG_BIN</c>, else the newest <c>/usr/lib/postgresql/N/bin</c> (Debian's
/// <c>postgresql</c> package, which scripts/test.sh installs), else <c>initdb</c> on PATH. initdb and postgres refuse to run as root:
/// as root the cluster is created and run as the user <c>COAPENROLL_PG_USER</c> (default <c>postgres</c>, the user Debian's package
/// creates) through <c>runuser -u USER --</c>. Durability is off (fsync=off): the cluster lives only as long as the test run.
/// </remarks>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string Superuser = "coapenroll";

    private readonly TempDirectory _directory;
    private readonly string _bin;
    private readonly string? _runAs;
    private int _databases;
    private bool _stopped;

    private PostgresCluster(TempDirectory directory, string bin, string? runAs, int port)
    {
        _directory = directory;
        _bin = bin;
        _runAs = runAs;
        Port = port;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    private string DataDirectory => _directory.File("data");

    /// <summary>Creates the cluster and starts it; throws with initdb's or pg_ctl's output when either fails.</summary>
    public static async Task<PostgresCluster> StartAsync(CancellationToken cancellationToken)
    {
        string bin = FindBinaries();
        string? runAs = Environment.IsPrivilegedProcess ? Environment.GetEnvironmentVariable("COAPENROLL_PG_USER") is { Length: > 0 } user ? user : "postgres" : null;
        var directory = new TempDirectory("coapenroll-pg-");
        if (runAs is not null && !OperatingSystem.IsWindows())
        {
            // The unprivileged user creates data/ (initdb wants to own it), the socket and the log in here.
            File.SetUnixFileMode(directory.Path, (UnixFileMode)0b111_111_111);
        }

        try
        {
            for (int attempt = 1; ; attempt++)
            {
                var cluster = new PostgresCluster(directory, bin, runAs, FreePort());
                if (attempt == 1)
                {
                    await cluster.RunAsync("initdb", ["-D", cluster.DataDirectory, "-U", Superuser, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"], cancellationToken);
                }

                try
                {
                    await cluster.StartServerAsync(cancellationToken);
                    return cluster;
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                    // The free port was taken between finding it and binding it: another one.
                }
            }
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>Stops the server (fast: open connections are ended, as when an operator restarts it) until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], cancellationToken);
        _stopped = true;
    }

    /// <summary>Starts the server <see cref="StopAsync"/> stopped, on the same port.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken)
    {
        await StartServerAsync(cancellationToken);
        _stopped = false;
    }

    private Task StartServerAsync(CancellationToken cancellationToken) =>
        RunAsync("pg_ctl", ["-D", DataDirectory, "-l", _directory.File("server.log"), "-w", "-t", "60", "start", "-o",
            $"-p {Port} -k {_directory.Path} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"],
            cancellationToken);

    /// <summary>Creates a new empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        string name = $"test_{Interlocked.Increment(ref _databases)}";
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name};", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        return ConnectionString(name);
    }

    /// <summary>The connection string of database <paramref name="database"/>.</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = Superuser, Database = database, Pooling = true }.ConnectionString;

    /// <summary>Stops the server (immediately: nothing in it is kept) and deletes the directory.</summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (!_stopped)
            {
                await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], CancellationToken.None);
            }
        }
        finally
        {
            _directory.Dispose();
        }
    }

    private static string FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("COAPENROLL_PG_BIN") is { Length: > 0 } configured)
        {
            return configured;
        }

        const string Debian = "/usr/lib/postgresql";
        if (Directory.Exists(Debian)
            && Directory.GetDirectories(Debian)
                .Select(d => (Directory: d, Version: int.TryParse(Path.GetFileName(d), out int v) ? v : -1))
                .Where(d => d.Version >= 0 && File.Exists(Path.Combine(d.Directory, "bin", "initdb")))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault() is { Directory: { } newest })
        {
            return Path.Combine(newest, "bin");
        }

        string? onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .FirstOrDefault(d => d.Length > 0 && File.Exists(Path.Combine(d, "initdb")));
        return onPath ?? throw new InvalidOperationException(
            "PostgreSQL's server binaries (initdb, pg_ctl) were not found in /usr/lib/postgresql/N/bin nor on PATH: apt-get install postgresql (scripts/test.sh does), or set COAPENROLL_PG_BIN.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // pg_ctl's server inherits the working directory; root's may be closed to the unprivileged user.
            WorkingDirectory = _directory.Path,
        };
        if (_runAs is null)
        {
            start.FileName = Path.Combine(_bin, program);
        }
        else
        {
            start.FileName = "runuser";
            foreach (string argument in new[] { "-u", _runAs, "--", Path.Combine(_bin, program) })
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        // pg_ctl start leaves the server holding its own copies of our pipes only if they are not redirected to the log: they are (-l).
        Task<string> output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            var text = new StringBuilder($"{program} exited with {process.ExitCode}: ");
            text.Append(await output).Append(await error);
            string log = _directory.File("server.log");
            if (File.Exists(log))
            {
                text.Append(" server.log: ").Append(await File.ReadAllTextAsync(log, cancellationToken));
            }

            throw new InvalidOperationException(text.ToString());
        }
    }
}
