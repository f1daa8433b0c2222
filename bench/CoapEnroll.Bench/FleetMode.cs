using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Testing;
using Microsoft.Data.Sqlite;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>fleet [options]</c> (issue 11 item 5): <see cref="FleetEnrollment"/> against <c>coapenroll serve</c> with its shipped defaults in
/// a separate process (fresh data directory, free ports, <c>--trust-manufacturer</c> for the fleet's manufacturer CA). Every device
/// has its own IDevID (<c>serialNumber=fleet-N, CN=fleet-N</c>) and asks for <c>CN=fleet-N</c> under the shipped name policy,
/// through a <see cref="LossyForwarder"/> of its own. Reports enrollments/s, p50/p99/max latency per device (first ClientHello to
/// certificate, over all its sessions), CoAP and DTLS retransmissions of the devices, failures, and, from serve's store after the
/// run (read-only), certificates per CSR and per public key: duplicates issued must be 0.
/// Options: <c>--devices N</c> (10000), <c>--concurrency N</c> (128), <c>--loss P</c> (0.2), <c>--duplication P</c> (0.1),
/// <c>--reorder P</c> (0.1), <c>--device-limit S</c> (600), <c>--seed N</c> (1), <c>--coapenroll DLL</c>.
/// </summary>
internal static class FleetMode
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"fleet: unexpected argument '{args[i]}' (options take a value: --name VALUE)");
                return 2;
            }

            options[args[i][2..]] = args[++i];
        }

        int devices = (int)Number(options, "devices", 10_000);
        int concurrency = (int)Number(options, "concurrency", 128);
        double loss = Number(options, "loss", 0.2);
        double duplication = Number(options, "duplication", 0.1);
        double reorder = Number(options, "reorder", 0.1);
        TimeSpan deviceLimit = TimeSpan.FromSeconds(Number(options, "device-limit", 600));
        int seed = (int)Number(options, "seed", 1);
        string dll = Path.GetFullPath(options.GetValueOrDefault("coapenroll") ?? ServeLoadMode.FindCoapEnrollDll());
        if (!File.Exists(dll))
        {
            Console.Error.WriteLine($"fleet: {dll} not found; build it first: dotnet build src/CoapEnroll.Cli -c Release");
            return 2;
        }

        using var manufacturer = new DeviceManufacturer("Fleet Manufacturer CA");
        string scratch = Directory.CreateTempSubdirectory("coapenroll-fleet-").FullName;
        try
        {
            string manufacturerFile = Path.Combine(scratch, "manufacturer-ca.pem");
            await File.WriteAllTextAsync(manufacturerFile, manufacturer.CaPem);
            await using ServerUnderTest server = await ServerUnderTest.StartServeAsync(dll, psk: false, scenarioArguments: ["--trust-manufacturer", manufacturerFile]);
            X509Certificate2Collection trust = [];
            trust.ImportFromPemFile(Path.Combine(server.DataDirectory!, "trust-anchor.pem"));

            string loadBefore = LoadAverage();
            Console.WriteLine($"fleet: {devices} devices, {concurrency} at once, loss {loss:P0} each way, duplication {duplication:P0}, reorder {reorder:P0}; "
                + $"{Environment.ProcessorCount} CPUs; load average {loadBefore}");
            Console.WriteLine($"  server: {server.CommandLine}");
            TimeSpan serverCpuBefore = ProcessStats.CpuTime(server.Pid);
            int finished = 0;
            int failures = 0;
            var clock = Stopwatch.StartNew();
            FleetResult result = await FleetEnrollment.RunAsync(new FleetOptions
            {
                Server = server.CoapsEndPoint,
                ServerTrustAnchors = trust,
                Manufacturer = manufacturer,
                Devices = devices,
                Concurrency = concurrency,
                LossRate = loss,
                DuplicationRate = duplication,
                ReorderRate = reorder,
                DeviceLimit = deviceLimit,
                Seed = seed,
                DeviceFinished = device =>
                {
                    if (!device.Enrolled)
                    {
                        Interlocked.Increment(ref failures);
                    }

                    int done = Interlocked.Increment(ref finished);
                    if (done % Math.Max(1, devices / 20) == 0)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  {done}/{devices} after {clock.Elapsed.TotalSeconds:F0} s, {Volatile.Read(ref failures)} failed; load average {LoadAverage()}"));
                    }
                },
            }, CancellationToken.None);
            TimeSpan serverCpu = ProcessStats.CpuTime(server.Pid) - serverCpuBefore;
            string loadAfter = LoadAverage();
            StoreCounts store = await CountStoreAsync(Path.Combine(server.DataDirectory!, "coapenroll.db"));

            int enrolled = result.Enrolled;
            int sessions = result.Devices.Sum(d => d.Attempts);
            string[] codes = [.. result.Devices.SelectMany(d => d.ErrorCodes).GroupBy(c => c, StringComparer.Ordinal).Select(g => $"{g.Key} ×{g.Count()}")];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                fleet result ({devices} devices, {concurrency} at once, loss {loss:P0}, duplication {duplication:P0}, reorder {reorder:P0}):
                  enrolled                 {enrolled}/{devices} in {result.Elapsed.TotalSeconds:F1} s: {enrolled / result.Elapsed.TotalSeconds:F1} enrollments/s
                  latency per device       p50 {result.Percentile(50).TotalSeconds:F2} s, p99 {result.Percentile(99).TotalSeconds:F2} s, max {result.Percentile(100).TotalSeconds:F2} s
                  DTLS sessions            {sessions} ({sessions - devices} new sessions after a failed one)
                  retransmissions          CoAP {result.CoapRetransmissions}, DTLS flights {result.DtlsRetransmissions} (devices' side)
                  datagrams                {result.Devices.Sum(d => (long)d.DatagramsToServer)} from devices, {result.Devices.Sum(d => (long)d.DatagramsToDevice)} from serve (before loss)
                  failures                 {devices - enrolled} devices without a certificate; error responses: {(codes.Length == 0 ? "none" : string.Join(", ", codes))}
                  store                    {store.Certificates} certificates, {store.IssuedRequests} issued requests, {store.OtherRequests} other requests
                  duplicates issued        {store.CsrsIssuedTwice} CSRs and {store.KeysIssuedTwice} public keys with more than one certificate
                  serve CPU                {serverCpu.TotalSeconds:F1} s ({serverCpu.TotalMilliseconds / Math.Max(1, enrolled):F1} ms per enrollment)
                  load average             before {loadBefore}, after {loadAfter}
                """));
            foreach (FleetDeviceResult device in result.Devices.Where(d => !d.Enrolled).Take(5))
            {
                Console.WriteLine($"  failed: {device.Subject} after {device.Attempts} sessions: {string.Join(" | ", device.Errors)}");
            }

            bool good = enrolled == devices && store.CsrsIssuedTwice == 0 && store.KeysIssuedTwice == 0 && store.Certificates == devices && codes.Length == 0;
            return good ? 0 : 1;
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Counts in serve's store, opened read-only while serve runs (SQLite WAL lets a reader in beside the writer).</summary>
    private static async Task<StoreCounts> CountStoreAsync(string database)
    {
        string connectionString = new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        async Task<long> ScalarAsync(string sql)
        {
            await using SqliteCommand command = connection.CreateCommand();
            command.CommandText = sql;
            return (long)(await command.ExecuteScalarAsync())!;
        }

        return new StoreCounts(
            await ScalarAsync("SELECT COUNT(*) FROM certificates"),
            await ScalarAsync("SELECT COUNT(*) FROM requests WHERE status = 'issued'"),
            await ScalarAsync("SELECT COUNT(*) FROM requests WHERE status <> 'issued'"),
            await ScalarAsync("SELECT COUNT(*) FROM (SELECT r.csr FROM certificates c JOIN requests r ON r.id = c.request_id GROUP BY r.csr HAVING COUNT(*) > 1)"),
            await ScalarAsync("SELECT COUNT(*) FROM (SELECT public_key_sha256 FROM certificates GROUP BY public_key_sha256 HAVING COUNT(*) > 1)"));
    }

    private static string LoadAverage()
    {
        string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"{fields[0]} {fields[1]} {fields[2]}";
    }

    private static double Number(Dictionary<string, string> options, string name, double fallback) =>
        options.TryGetValue(name, out string? value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    private sealed record StoreCounts(long Certificates, long IssuedRequests, long OtherRequests, long CsrsIssuedTwice, long KeysIssuedTwice);
}
