using System.Globalization;
using System.Net;
using System.Text.Json;
using CoapEnroll.Dtls;
using CoapEnroll.Testing;
using Npgsql;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>nodes-scale [options]</c> (issue 13, "Measured"): EST-coaps enrollments/s with one, two and three <c>serve</c> nodes on one
/// PostgreSQL database against one node on its SQLite store, on this machine.
/// <list type="number">
/// <item>A throwaway PostgreSQL cluster (<see cref="PostgresCluster"/>, as the store's tests use: fsync, synchronous_commit and
/// full_page_writes off) and one data directory initialised by a serve of its own (the demo PKI: DIR/ca, the server credential, the
/// trust anchor, the demo device). Every node of every configuration runs on a copy of it without the SQLite file, so all use the
/// same CA keys and certificates (README, "The PostgreSQL store": every node needs the same DIR/ca).</item>
/// <item>Configurations: 1 node on SQLite (DIR/coapenroll.db), then 1, 2 and 3 nodes on one new PostgreSQL database
/// (<c>--Store:Provider=postgres --Store:ConnectionString=…</c>); in even rounds the other way round. Each configuration starts its
/// nodes fresh (shipped defaults, free ports; with <c>--names unique</c>, the default, also
/// <c>--Ca:Profiles:default:NamePolicy=AnyName</c> as in enroll-scale), warms up (<c>--warmup</c> s per node, concurrency 4 per node),
/// then runs each of <c>--levels</c> for <c>--duration</c> s: that many devices, each doing enrollments back to back
/// (<see cref="EnrollScaleMode.RunPhaseAsync"/>, <see cref="EnrollmentProbe.EnrollAsync"/>: handshake with the demo device
/// certificate, /sen with a new key), each enrollment sent to the next node in turn.</item>
/// <item>Per phase: enrollments/s, latency, failures, serve CPU per enrollment summed over the nodes, PostgreSQL's CPU per
/// enrollment (the postmaster and all its processes, <see cref="ProcessStats.CpuTimeWithChildren"/>), and the ratios to the SQLite
/// node of the same round and concurrency. After each PostgreSQL configuration, the certificates in its database are counted
/// against the enrollments the clients saw succeed.</item>
/// </list>
/// Options: <c>--levels 16,64</c>, <c>--duration S</c> (15), <c>--warmup S</c> (10, per node), <c>--rounds N</c> (2),
/// <c>--nodes 1,2,3</c> (PostgreSQL node counts), <c>--names unique|same</c>, <c>--coapenroll DLL</c>, <c>--json FILE</c>
/// (nodes-scale.json).
/// </summary>
internal static class NodesScaleMode
{
    private const string Sqlite = "sqlite";
    private const string Postgres = "postgres";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"nodes-scale: unexpected argument '{args[i]}' (options take a value: --name VALUE)");
                return 2;
            }

            options[args[i][2..]] = args[++i];
        }

        int[] levels = Integers(options.GetValueOrDefault("levels") ?? "16,64");
        int[] nodeCounts = Integers(options.GetValueOrDefault("nodes") ?? "1,2,3");
        TimeSpan duration = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("duration") ?? "15", CultureInfo.InvariantCulture));
        TimeSpan warmupPerNode = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("warmup") ?? "10", CultureInfo.InvariantCulture));
        int rounds = int.Parse(options.GetValueOrDefault("rounds") ?? "2", CultureInfo.InvariantCulture);
        string dll = Path.GetFullPath(options.GetValueOrDefault("coapenroll") ?? ServeLoadMode.FindCoapEnrollDll());
        string jsonPath = options.GetValueOrDefault("json") ?? "nodes-scale.json";
        string names = options.GetValueOrDefault("names") ?? "unique";
        if (names is not ("unique" or "same"))
        {
            Console.Error.WriteLine($"nodes-scale: --names is unique or same, not '{names}'");
            return 2;
        }

        if (levels.Length == 0 || levels.Any(l => l < 1) || nodeCounts.Any(n => n < 1) || rounds < 1)
        {
            Console.Error.WriteLine("nodes-scale: --levels, --nodes and --rounds take positive numbers");
            return 2;
        }

        if (!File.Exists(dll))
        {
            Console.Error.WriteLine($"nodes-scale: {dll} not found; build it first: dotnet build src/CoapEnroll.Cli -c Release");
            return 2;
        }

        bool uniqueNames = names == "unique";
        var report = new NodesScaleReport
        {
            Runtime = Environment.Version.ToString(),
            Cores = Environment.ProcessorCount,
            LoadAverageBefore = EnrollScaleMode.LoadAverage(),
            StartedUtc = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            Names = uniqueNames ? "unique: CN=bench-device-N, a new name per enrollment" : $"same: {EnrollmentProbe.Subject} every time",
        };
        Console.WriteLine($"nodes-scale: {dll}; SQLite ×1 and PostgreSQL ×{string.Join(",", nodeCounts)}; levels {string.Join(",", levels)} × {duration.TotalSeconds} s; " +
            $"{rounds} round(s); {report.Cores} CPUs; load average {report.LoadAverageBefore}");

        await using PostgresCluster cluster = await PostgresCluster.StartAsync(CancellationToken.None);
        (int postmaster, report.PostgreSql) = await DescribeClusterAsync(cluster);
        Console.WriteLine($"  PostgreSQL on 127.0.0.1:{cluster.Port}, postmaster {postmaster}: {report.PostgreSql}");

        string template = await InitialiseDataDirectoryAsync(dll);
        try
        {
            DtlsClientOptions device = await EnrollmentProbe.LoadDemoDeviceAsync(template);
            (string Store, int Nodes)[] configurations = [(Sqlite, 1), .. nodeCounts.Select(n => (Postgres, n))];
            for (int round = 1; round <= rounds; round++)
            {
                IEnumerable<(string Store, int Nodes)> order = round % 2 == 1 ? configurations : Enumerable.Reverse(configurations);
                foreach ((string store, int nodes) in order)
                {
                    Console.WriteLine($"round {round}: {store} ×{nodes} (load average {EnrollScaleMode.LoadAverage()})");
                    report.Phases.AddRange(await RunConfigurationAsync(report, round, store, nodes, dll, template, cluster, postmaster, device,
                        uniqueNames, levels, duration, warmupPerNode));
                }
            }
        }
        finally
        {
            Directory.Delete(template, recursive: true);
        }

        report.LoadAverageAfter = EnrollScaleMode.LoadAverage();
        SetRatios(report.Phases);
        PrintSummary(report);
        await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, EnrollScaleMode.JsonOptions));
        Console.WriteLine($"JSON written to {jsonPath}");
        return report.Phases.All(p => p.Result.Failures == 0) ? 0 : 1;
    }

    /// <summary>Starts the configuration's nodes on copies of <paramref name="template"/>, warms them up, measures each level, stops them.</summary>
    private static async Task<List<NodesScalePhase>> RunConfigurationAsync(NodesScaleReport report, int round, string store, int nodes, string dll,
        string template, PostgresCluster cluster, int postmaster, DtlsClientOptions device, bool uniqueNames, int[] levels, TimeSpan duration,
        TimeSpan warmupPerNode)
    {
        string? connectionString = store == Postgres ? await cluster.CreateDatabaseAsync(CancellationToken.None) : null;
        var arguments = new List<string>();
        if (uniqueNames)
        {
            arguments.Add("--Ca:Profiles:default:NamePolicy=AnyName");
        }

        if (connectionString is not null)
        {
            arguments.AddRange(["--Store:Provider=postgres", $"--Store:ConnectionString={connectionString}"]);
        }

        var servers = new List<ServerUnderTest>();
        var phases = new List<NodesScalePhase>();
        int succeeded = 0;
        try
        {
            // One after another: the first node on a new database creates the schema (the store takes an advisory lock for that, so
            // starting them at once would work too, but would put the start-up JIT of all nodes on the two cores together).
            for (int i = 0; i < nodes; i++)
            {
                servers.Add(await ServerUnderTest.StartServeAsync(dll, psk: false, scenarioArguments: arguments, dataDirectory: CopyDataDirectory(template)));
            }

            if (store == Postgres || report.ServeCommand.Length == 0)
            {
                report.ServeCommand = servers[0].CommandLine;
            }

            IPEndPoint[] endPoints = [.. servers.Select(s => s.CoapsEndPoint)];
            int[] next = [0];
            Task<(bool Ok, string? Error)> Enroll() =>
                EnrollScaleMode.EnrollAsync(endPoints[(int)((uint)Interlocked.Increment(ref next[0]) % (uint)endPoints.Length)], device, uniqueNames);
            TimeSpan ServeCpu() => servers.Aggregate(TimeSpan.Zero, (sum, s) => sum + ProcessStats.CpuTime(s.Pid));
            Func<TimeSpan>? databaseCpu = store == Postgres ? () => ProcessStats.CpuTimeWithChildren(postmaster) : null;

            var warmup = await EnrollScaleMode.RunPhaseAsync("warm-up", 4 * nodes, warmupPerNode * nodes, ServeCpu, Enroll, databaseCpu);
            succeeded = warmup.Completed;
            foreach (int level in levels)
            {
                EnrollScaleMode.ScalePhase result = await EnrollScaleMode.RunPhaseAsync($"enroll {store} ×{nodes}", level, duration, ServeCpu, Enroll, databaseCpu);
                succeeded += result.Completed;
                EnrollScaleMode.Print(result, null, null);
                if (result.DatabaseCpuUsPerOperation is { } db)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"    PostgreSQL CPU {db:F0} µs/op ({result.DatabaseCpuShare:F2} cores); serve + PostgreSQL {result.ServerCpuUsPerOperation + db:F0} µs/op"));
                }

                phases.Add(new NodesScalePhase { Round = round, Store = store, Nodes = nodes, Result = result });
            }

            if (phases.Any(p => p.Result.Failures > 0) || warmup.Failures > 0)
            {
                foreach (ServerUnderTest server in servers)
                {
                    Console.WriteLine($"  node {server.CoapsPort} after failures, its last lines:");
                    Console.WriteLine(string.Join(Environment.NewLine, server.RecentOutput().Split(Environment.NewLine).TakeLast(15).Select(l => "    " + l)));
                }
            }
        }
        finally
        {
            foreach (ServerUnderTest server in servers)
            {
                await server.DisposeAsync();
            }
        }

        if (connectionString is not null)
        {
            // After the nodes stopped: their backends have exited and flushed their statistics to pg_stat_database.
            await Task.Delay(TimeSpan.FromSeconds(1));
            string check = $"round {round}, postgres ×{nodes}: {await DescribeDatabaseAsync(connectionString, succeeded)}";
            report.StoreChecks.Add(check);
            Console.WriteLine("  " + check);
        }

        return phases;
    }

    /// <summary>Starts serve once on a fresh data directory (SQLite) so that it creates the demo PKI, and keeps a copy of the directory.</summary>
    private static async Task<string> InitialiseDataDirectoryAsync(string dll)
    {
        string template = Directory.CreateTempSubdirectory("coapenroll-nodes-ca-").FullName;
        await using ServerUnderTest initialiser = await ServerUnderTest.StartServeAsync(dll, psk: false);
        CopyTree(initialiser.DataDirectory!, template);
        Console.WriteLine($"  data directory initialised by {initialiser.CommandLine}; every node gets a copy (without the SQLite file)");
        return template;
    }

    /// <summary>A new temporary copy of <paramref name="template"/> for one node.</summary>
    private static string CopyDataDirectory(string template)
    {
        string copy = Directory.CreateTempSubdirectory("coapenroll-node-").FullName;
        CopyTree(template, copy);
        return copy;
    }

    private static void CopyTree(string from, string to)
    {
        foreach (string directory in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        }

        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            // The SQLite store (and its WAL) belongs to the node that made it; the SQLite configuration starts with none, as on first start.
            if (Path.GetFileName(file).StartsWith("coapenroll.db", StringComparison.Ordinal))
            {
                continue;
            }

            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    /// <summary>The postmaster's PID (the parent of a backend), the server version and the settings that bear on write cost.</summary>
    private static async Task<(int Postmaster, string Description)> DescribeClusterAsync(PostgresCluster cluster)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT pg_backend_pid(), version(), string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings " +
            "WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections', 'wal_level')", connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        int backend = reader.GetInt32(0);
        string stat = await File.ReadAllTextAsync($"/proc/{backend}/stat");
        int postmaster = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        return (postmaster, $"{reader.GetString(1).Split(" on ")[0]}; {reader.GetString(2)} (shared_buffers in 8 kB pages)");
    }

    /// <summary>
    /// The certificates in the database against the enrollments the clients saw succeed, and pg_stat_database's transactions,
    /// rollbacks and deadlocks of the database per stored certificate (schema creation and this query included).
    /// </summary>
    private static async Task<string> DescribeDatabaseAsync(string connectionString, int succeeded)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT (SELECT count(*) FROM certificates), xact_commit, xact_rollback, deadlocks, current_database() FROM pg_stat_database WHERE datname = current_database()",
            connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        long stored = reader.GetInt64(0);
        long commits = reader.GetInt64(1);
        long rollbacks = reader.GetInt64(2);
        long deadlocks = reader.GetInt64(3);
        string verdict = stored == succeeded ? "" : stored > succeeded ? " (more stored than received: issued, then the client gave up)" : " (FEWER stored than received)";
        return string.Create(CultureInfo.InvariantCulture,
            $"{stored} certificates in database {reader.GetString(4)}, {succeeded} enrollments succeeded at the clients (warm-up included){verdict}; " +
            $"{commits} commits ({(double)commits / Math.Max(stored, 1):F1} per certificate), {rollbacks} rollbacks, {deadlocks} deadlocks");
    }

    /// <summary>Each phase against the SQLite node of its round at its concurrency.</summary>
    private static void SetRatios(List<NodesScalePhase> phases)
    {
        foreach (NodesScalePhase phase in phases)
        {
            if (phases.FirstOrDefault(p => p.Store == Sqlite && p.Round == phase.Round && p.Result.Concurrency == phase.Result.Concurrency) is not { } sqlite)
            {
                continue;
            }

            phase.RateRatio = phase.Result.PerSecond / sqlite.Result.PerSecond;
            phase.ServeCpuRatio = phase.Result.ServerCpuUsPerOperation / sqlite.Result.ServerCpuUsPerOperation;
            phase.TotalCpuRatio = (phase.Result.ServerCpuUsPerOperation + (phase.Result.DatabaseCpuUsPerOperation ?? 0)) / sqlite.Result.ServerCpuUsPerOperation;
        }
    }

    private static void PrintSummary(NodesScaleReport report)
    {
        Console.WriteLine();
        Console.WriteLine($"Load average {report.LoadAverageBefore} -> {report.LoadAverageAfter}; {report.Cores} CPUs; {report.PostgreSql}");
        Console.WriteLine();
        Console.WriteLine("| round | store × nodes | devices | load (1 min) | enrollments/s | ratio to SQLite | p50 / p99 ms | failures | serve CPU µs/enr. (all nodes) | PostgreSQL CPU µs/enr. | serve + PG CPU / SQLite serve CPU | cores used: serve + PG |");
        Console.WriteLine("|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|");
        foreach (NodesScalePhase p in report.Phases.OrderBy(p => p.Result.Concurrency).ThenBy(p => p.Round).ThenBy(p => p.Store == Postgres).ThenBy(p => p.Nodes))
        {
            EnrollScaleMode.ScalePhase r = p.Result;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {p.Round} | {p.Store} ×{p.Nodes} | {r.Concurrency} | {r.LoadAverage.Split(' ')[0]} | {r.PerSecond:F1} | {p.RateRatio:F2} | {r.P50Ms:F0} / {r.P99Ms:F0} | {r.Failures} | " +
                $"{r.ServerCpuUsPerOperation:F0} | {(r.DatabaseCpuUsPerOperation is { } db ? db.ToString("F0", CultureInfo.InvariantCulture) : "–")} | {p.TotalCpuRatio:F2} | " +
                $"{r.ServerCpuShare:F2} + {r.DatabaseCpuShare ?? 0:F2} |"));
        }

        Console.WriteLine();
        Console.WriteLine("Ratio to the SQLite node of the same round, by configuration and concurrency (each round; median):");
        foreach (var group in report.Phases.Where(p => p.Store == Postgres).GroupBy(p => (p.Nodes, p.Result.Concurrency)).OrderBy(g => g.Key.Concurrency).ThenBy(g => g.Key.Nodes))
        {
            double[] rates = [.. group.Select(p => p.RateRatio)];
            double[] cpu = [.. group.Select(p => p.TotalCpuRatio)];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  postgres ×{group.Key.Nodes}, {group.Key.Concurrency} devices: enrollments/s {string.Join(" ", rates.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} " +
                $"(median {EnrollScaleMode.Median([.. rates]):F2}); serve + PG CPU per enrollment {string.Join(" ", cpu.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} (median {EnrollScaleMode.Median([.. cpu]):F2})"));
        }

        foreach (string check in report.StoreChecks)
        {
            Console.WriteLine("  " + check);
        }
    }

    private static int[] Integers(string list) => [.. list.Split(',').Select(l => int.Parse(l, CultureInfo.InvariantCulture))];
}
