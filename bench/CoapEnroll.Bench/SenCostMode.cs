using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using CoapEnroll.Dtls;
using CoapEnroll.Est;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>sen-cost --servers LABEL=DLL[,LABEL=DLL...] [options]</c>: what one EST-coaps <c>/sen</c> costs <c>coapenroll serve</c>
/// (shipped defaults, fresh data directory, a separate process) in CPU time and managed allocations, for any builds of serve
/// side by side, so that two commits can be compared in one session: each round starts every server in turn, A B in odd rounds
/// and B A in even ones (A B B A A B …), and the ratios pair the runs of the same round.
/// <para>Each run: start serve, warm it up (batches of 20 handshakes, enrollments and /sen until a batch and the second after it
/// JIT-compile at most <c>--settle</c> methods: tiered compilation otherwise goes on for thousands of operations on a loaded machine
/// and its CPU lands in the figures), then four phases, each read before and after from <c>/proc/PID/stat</c> (utime + stime, all threads) and from the
/// server's own <see cref="GC.GetTotalAllocatedBytes(bool)"/> through the startup hook of <c>CoapEnroll.Bench.ServerProbe</c>:</para>
/// <list type="bullet">
/// <item><c>idle</c>: <c>--idle</c> seconds of nothing (timers, background threads) as ms of CPU and bytes per second.</item>
/// <item><c>handshake</c>: N × (DTLS 1.2 ECDHE handshake with the demo device's certificate, close_notify).</item>
/// <item><c>enroll</c>: N × (the same handshake, <c>/sen</c> for CN=demo-device-1 with a new P-256 key, close_notify): what a device does.</item>
/// <item><c>sen</c>: one session, N × <c>/sen</c> on it: the EST/CA request alone.</item>
/// </list>
/// <c>enroll − handshake</c> per operation is the /sen share of an enrollment; it includes what the first request on a new session
/// costs beyond a later one, so it comes out above <c>sen</c>.
/// Options: <c>--rounds R</c> (5), <c>--count N</c> (100), <c>--settle M</c> (10), <c>--warmup W</c> (1000: the most warm-up operations
/// of each kind), <c>--idle S</c> (2), <c>--json FILE</c>,
/// <c>--types</c> (diagnosis: also sample allocations by type in the server; that listener costs CPU, so such a run's CPU
/// figures are not the server's own). The default server is <c>new=</c> this checkout's Release build of the CLI.
/// </summary>
internal static class SenCostMode
{
    internal const string ProbeAssembly = "CoapEnroll.Bench.ServerProbe.dll";

    private const int WarmupBatch = 20;

    private static readonly string[] Phases = ["idle", "handshake", "enroll", "sen"];

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        bool types = false;
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] == "--types")
            {
                types = true;
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                options[args[i][2..]] = args[++i];
            }
            else
            {
                Console.Error.WriteLine($"sen-cost: unexpected argument '{args[i]}'");
                return 2;
            }
        }

        var servers = new List<(string Label, string Dll)>();
        foreach (string entry in (options.GetValueOrDefault("servers") ?? "new=" + ServeLoadMode.FindCoapEnrollDll()).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = entry.Split('=', 2);
            string dll = Path.GetFullPath(parts[^1]);
            if (!File.Exists(dll))
            {
                Console.Error.WriteLine($"sen-cost: {dll} not found; build it first: dotnet build src/CoapEnroll.Cli -c Release");
                return 2;
            }

            servers.Add((parts.Length == 2 ? parts[0] : $"S{servers.Count + 1}", dll));
        }

        string probe = Path.Combine(AppContext.BaseDirectory, ProbeAssembly);
        if (!File.Exists(probe))
        {
            Console.Error.WriteLine($"sen-cost: {probe} not found (it is built with the bench)");
            return 2;
        }

        var settings = new Settings(Int(options, "count", 100), Int(options, "warmup", 1000), Int(options, "settle", 10), Double(options, "idle", 2), probe, types);
        int rounds = Int(options, "rounds", 5);
        Console.WriteLine($"sen-cost: {rounds} round(s) of {string.Join(", ", servers.Select(s => $"{s.Label} ({s.Dll})"))}; " +
            $"{settings.Count} operations per phase after a warm-up until the JIT settles ({settings.Settle} methods per batch, at most {settings.Warmup} of each operation); runtime {Environment.Version}; " +
            $"{Environment.ProcessorCount} CPUs{(types ? "; DIAGNOSIS: allocation sampling by type on, CPU figures not comparable" : "")}");
        var runs = new List<SenCostRun>();
        int failures = 0;
        for (int round = 1; round <= rounds; round++)
        {
            // A B in odd rounds, B A in even ones, so that a load that rises or falls through the session does not always favour
            // the server that runs first in a round.
            foreach ((string label, string dll) in round % 2 == 1 ? servers : Enumerable.Reverse(servers))
            {
                try
                {
                    SenCostRun run = await RunOnceAsync(label, dll, round, settings);
                    runs.Add(run);
                    Print(run);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    failures++;
                    Console.WriteLine($"  round {round} {label}: FAILED {ex.GetType().Name}: {ex.Message}");
                }
            }
        }

        PrintSummary(runs, servers.Select(s => s.Label).ToList());
        if (options.GetValueOrDefault("json") is { } json)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(runs, JsonOptions));
            Console.WriteLine($"JSON written to {json}");
        }

        return failures == 0 ? 0 : 1;
    }

    private static async Task<SenCostRun> RunOnceAsync(string label, string dll, int round, Settings settings)
    {
        string socketPath = Path.Combine(Path.GetTempPath(), $"coapenroll-probe-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DOTNET_STARTUP_HOOKS"] = settings.Probe,
            ["COAPENROLL_BENCH_PROBE"] = socketPath,
        };
        if (settings.Types)
        {
            environment["COAPENROLL_BENCH_PROBE_TYPES"] = "1";
        }

        string loadBefore = LoadAverage();
        await using ServerUnderTest server = await ServerUnderTest.StartServeAsync(dll, psk: false, environment: environment);
        try
        {
            var probe = new ServerProbe(socketPath);
            DtlsClientOptions client = await EnrollmentProbe.LoadDemoDeviceAsync(server.DataDirectory!);
            IPEndPoint coaps = server.CoapsEndPoint;
            var run = new SenCostRun { Server = label, Dll = dll, Round = round, Command = server.CommandLine, LoadAverageBefore = loadBefore };

            // Warm-up: tiered compilation (tier 0, instrumented tier, tier 1, on a background thread that a loaded machine
            // starves) goes on for a long time after the first requests, and its CPU would land in the phases. So warm up in
            // batches of every operation the phases do until a batch, and the pause after it, JIT-compile at most
            // --settle methods (or --warmup operations have been done), then measure.
            ServerCounters previous = await probe.ReadAsync();
            while (true)
            {
                await using (EstCoapsClient est = await ConnectEstAsync(coaps, client))
                {
                    for (int i = 0; i < WarmupBatch; i++)
                    {
                        await HandshakeAsync(coaps, client);
                        await EnrollAsync(coaps, client);
                        await SenAsync(est);
                    }
                }

                run.WarmupOperations += WarmupBatch;
                await Task.Delay(TimeSpan.FromSeconds(1));
                ServerCounters now = await probe.ReadAsync();
                run.WarmupLastBatchJitMethods = now.JitMethods - previous.JitMethods;
                previous = now;
                if (run.WarmupLastBatchJitMethods <= settings.Settle || run.WarmupOperations >= settings.Warmup)
                {
                    break;
                }
            }

            run.ProbeOverheadBytes = await probe.OverheadAsync();
            if (settings.Types)
            {
                await probe.TypesAsync();
            }

            foreach (string phase in Phases)
            {
                run.Phases.Add(await MeasureAsync(phase, server.Pid, probe, settings, coaps, client, run.ProbeOverheadBytes));
            }

            run.LoadAverageAfter = LoadAverage();
            return run;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new InvalidOperationException($"{ex.Message}{Environment.NewLine}{server.RecentOutput()}", ex);
        }
        finally
        {
            File.Delete(socketPath);
        }
    }

    private static async Task<PhaseResult> MeasureAsync(string phase, int pid, ServerProbe probe, Settings settings, IPEndPoint coaps,
        DtlsClientOptions client, long probeOverhead)
    {
        // The sen phase's session is set up outside the measured window; its handshake is not part of the phase.
        EstCoapsClient? est = phase == "sen" ? await ConnectEstAsync(coaps, client) : null;
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        ServerCounters before = await probe.ReadAsync();
        TimeSpan cpuBefore = ProcessStats.CpuTime(pid);
        long started = Stopwatch.GetTimestamp();
        int operations = phase == "idle" ? 0 : settings.Count;
        switch (phase)
        {
            case "idle":
                await Task.Delay(TimeSpan.FromSeconds(settings.IdleSeconds));
                break;
            case "handshake":
                for (int i = 0; i < operations; i++)
                {
                    await HandshakeAsync(coaps, client);
                }

                break;
            case "enroll":
                for (int i = 0; i < operations; i++)
                {
                    await EnrollAsync(coaps, client);
                }

                break;
            case "sen":
                for (int i = 0; i < operations; i++)
                {
                    await SenAsync(est!);
                }

                break;
        }

        long ended = Stopwatch.GetTimestamp();
        double seconds = Stopwatch.GetElapsedTime(started, ended).TotalSeconds;

        // For a profiler attached to serve (perf record -k CLOCK_MONOTONIC): where this phase lies on the monotonic clock, which
        // is what Stopwatch reads on Linux, so that the samples of one phase can be cut out of a recording of the whole run.
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"sen-cost: phase {phase} of serve {pid}: Stopwatch {started}..{ended} (frequency {Stopwatch.Frequency})"));

        // Whatever the last operation left to the server (the close_notify, a log line) belongs to the phase.
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        TimeSpan cpu = ProcessStats.CpuTime(pid) - cpuBefore;
        ServerCounters after = await probe.ReadAsync();
        IReadOnlyList<(string Type, long Bytes)> sampled = settings.Types ? await probe.TypesAsync() : [];
        if (est is not null)
        {
            await est.DisposeAsync();
        }

        return new PhaseResult
        {
            Phase = phase,
            Operations = operations,
            WallSeconds = seconds,
            CpuMs = cpu.TotalMilliseconds,
            AllocatedBytes = after.Allocated - before.Allocated - probeOverhead,
            Gen0 = after.Gen0 - before.Gen0,
            Gen1 = after.Gen1 - before.Gen1,
            Gen2 = after.Gen2 - before.Gen2,
            JitMethods = after.JitMethods - before.JitMethods,
            JitMs = after.JitMs - before.JitMs,
            SampledTypes = [.. sampled.Take(25).Select(t => new TypeShare(t.Type, t.Bytes))],
        };
    }

    private static async Task HandshakeAsync(IPEndPoint coaps, DtlsClientOptions client)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(coaps, client, limit.Token);
        await channel.DisposeAsync();
    }

    private static async Task EnrollAsync(IPEndPoint coaps, DtlsClientOptions client)
    {
        await using EstCoapsClient est = await ConnectEstAsync(coaps, client);
        await SenAsync(est);
    }

    private static async Task<EstCoapsClient> ConnectEstAsync(IPEndPoint coaps, DtlsClientOptions client)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return new EstCoapsClient(await DtlsClientChannel.ConnectAsync(coaps, client, limit.Token));
    }

    private static async Task SenAsync(EstCoapsClient est)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 issued = await est.EnrollAsync(new X500DistinguishedName(EnrollmentProbe.Subject), key, cancellationToken: limit.Token);
    }

    private static void Print(SenCostRun run)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"  round {run.Round} {run.Server}: load average {run.LoadAverageBefore} -> {run.LoadAverageAfter}; warm-up {run.WarmupOperations} of each operation, " +
            $"last batch JIT-compiled {run.WarmupLastBatchJitMethods} methods; probe overhead {run.ProbeOverheadBytes} B per reading");
        foreach (PhaseResult p in run.Phases)
        {
            if (p.Operations == 0)
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"    {p.Phase,-9} {p.CpuMs / p.WallSeconds,8:F2} ms CPU/s  {p.AllocatedBytes / p.WallSeconds / 1024,9:F1} KiB/s   over {p.WallSeconds:F1} s; GCs {p.Gen0}/{p.Gen1}/{p.Gen2}; JIT {p.JitMethods} methods {p.JitMs:F0} ms");
            }
            else
            {
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"    {p.Phase,-9} {p.CpuMsPerOperation,8:F2} ms CPU/op {p.AllocatedBytesPerOperation / 1024,9:F1} KiB/op  {p.Operations} ops in {p.WallSeconds:F1} s; GCs {p.Gen0}/{p.Gen1}/{p.Gen2}; JIT {p.JitMethods} methods {p.JitMs:F0} ms");
            }

            foreach (TypeShare t in p.SampledTypes)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"        {t.Bytes / Math.Max(1, p.Operations) / 1024.0,8:F1} KiB/op (sampled)  {t.Type}");
            }
        }

        if (run.SenShare is { } share)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    enroll − handshake: {share.CpuMs:F2} ms CPU/op, {share.Bytes / 1024:F1} KiB/op");
        }

        Console.Write(text.ToString());
    }

    private static void PrintSummary(List<SenCostRun> runs, List<string> labels)
    {
        Console.WriteLine();
        Console.WriteLine("Median (min–max) over the runs of each server; server CPU per operation from /proc/PID/stat (10 ms ticks), allocations from the server's GC.");
        Console.WriteLine();
        Console.WriteLine("| phase | server | runs | server CPU ms/op | allocated KiB/op |");
        Console.WriteLine("|---|---|---:|---|---|");
        foreach (string phase in Phases.Skip(1).Append("enroll − handshake"))
        {
            foreach (string label in labels)
            {
                var cpu = new List<double>();
                var bytes = new List<double>();
                foreach (SenCostRun run in runs.Where(r => r.Server == label))
                {
                    if (phase == "enroll − handshake")
                    {
                        if (run.SenShare is { } share)
                        {
                            cpu.Add(share.CpuMs);
                            bytes.Add(share.Bytes / 1024);
                        }
                    }
                    else if (run.Phases.FirstOrDefault(p => p.Phase == phase) is { } p)
                    {
                        cpu.Add(p.CpuMsPerOperation);
                        bytes.Add(p.AllocatedBytesPerOperation / 1024);
                    }
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {phase} | {label} | {cpu.Count} | {Spread(cpu, "F2")} | {Spread(bytes, "F1")} |"));
            }
        }

        if (labels.Count < 2)
        {
            return;
        }

        // Paired: each later server against the first, within the same round (the runs next to each other in time).
        Console.WriteLine();
        Console.WriteLine($"Ratios to {labels[0]} within each round, median (min–max):");
        Console.WriteLine();
        Console.WriteLine("| phase | ratio | CPU | allocated |");
        Console.WriteLine("|---|---|---|---|");
        foreach (string phase in Phases.Skip(1).Append("enroll − handshake"))
        {
            foreach (string label in labels.Skip(1))
            {
                var cpu = new List<double>();
                var bytes = new List<double>();
                foreach (var pair in runs.Where(r => r.Server == labels[0])
                    .Join(runs.Where(r => r.Server == label), r => r.Round, r => r.Round, (a, b) => (A: a, B: b)))
                {
                    (double Cpu, double Bytes)? a = Figures(pair.A, phase);
                    (double Cpu, double Bytes)? b = Figures(pair.B, phase);
                    if (a is { } x && b is { } y)
                    {
                        cpu.Add(y.Cpu / x.Cpu);
                        bytes.Add(y.Bytes / x.Bytes);
                    }
                }

                Console.WriteLine($"| {phase} | {label}/{labels[0]} | {Spread(cpu, "F3")} | {Spread(bytes, "F3")} |");
            }
        }
    }

    private static (double Cpu, double Bytes)? Figures(SenCostRun run, string phase) =>
        phase == "enroll − handshake"
            ? run.SenShare
            : run.Phases.FirstOrDefault(p => p.Phase == phase) is { } p ? (p.CpuMsPerOperation, p.AllocatedBytesPerOperation) : null;

    private static string Spread(List<double> values, string format)
    {
        if (values.Count == 0)
        {
            return "";
        }

        values.Sort();
        double median = values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
        return string.Create(CultureInfo.InvariantCulture,
            $"{median.ToString(format, CultureInfo.InvariantCulture)} ({values[0].ToString(format, CultureInfo.InvariantCulture)}–{values[^1].ToString(format, CultureInfo.InvariantCulture)})");
    }

    private static string LoadAverage()
    {
        string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"{fields[0]} {fields[1]} {fields[2]}";
    }

    private static int Int(Dictionary<string, string> options, string name, int fallback) =>
        options.TryGetValue(name, out string? value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    private static double Double(Dictionary<string, string> options, string name, double fallback) =>
        options.TryGetValue(name, out string? value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    private sealed record Settings(int Count, int Warmup, int Settle, double IdleSeconds, string Probe, bool Types);

    internal readonly record struct ServerCounters(long Allocated, int Gen0, int Gen1, int Gen2, long JitMethods, double JitMs);

    /// <summary>Asks the server's startup hook (<c>CoapEnroll.Bench.ServerProbe</c>) over its Unix socket.</summary>
    internal sealed class ServerProbe(string path)
    {
        public async Task<ServerCounters> ReadAsync()
        {
            Dictionary<string, string> fields = (await AskAsync("counters")).Trim().Split(' ')
                .Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
            return new ServerCounters(long.Parse(fields["allocated"], CultureInfo.InvariantCulture),
                int.Parse(fields["gen0"], CultureInfo.InvariantCulture), int.Parse(fields["gen1"], CultureInfo.InvariantCulture),
                int.Parse(fields["gen2"], CultureInfo.InvariantCulture), long.Parse(fields["jit-methods"], CultureInfo.InvariantCulture),
                double.Parse(fields["jit-ms"], CultureInfo.InvariantCulture));
        }

        /// <summary>What one reading allocates in the server: the difference of two readings back to back (the least of three).</summary>
        public async Task<long> OverheadAsync()
        {
            long least = long.MaxValue;
            ServerCounters previous = await ReadAsync();
            for (int i = 0; i < 3; i++)
            {
                ServerCounters next = await ReadAsync();
                least = Math.Min(least, next.Allocated - previous.Allocated);
                previous = next;
            }

            return least;
        }

        public async Task<IReadOnlyList<(string Type, long Bytes)>> TypesAsync() =>
            [.. (await AskAsync("types")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => (l[..l.LastIndexOf(' ')], long.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))];

        private async Task<string> AskAsync(string question)
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
            await socket.SendAsync(Encoding.ASCII.GetBytes(question));
            var answer = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while ((read = await socket.ReceiveAsync(buffer)) > 0)
            {
                answer.Write(buffer, 0, read);
            }

            return Encoding.ASCII.GetString(answer.ToArray());
        }
    }
}

/// <summary>One run of <c>sen-cost</c>: one server process and its phases.</summary>
internal sealed record SenCostRun
{
    public required string Server { get; init; }

    public required string Dll { get; init; }

    public int Round { get; init; }

    public required string Command { get; init; }

    public string LoadAverageBefore { get; init; } = "";

    public string LoadAverageAfter { get; set; } = "";

    /// <summary>Handshakes, enrollments and /sen on one session each, before the phases.</summary>
    public int WarmupOperations { get; set; }

    /// <summary>Methods the server JIT-compiled during the last warm-up batch and the second after it.</summary>
    public long WarmupLastBatchJitMethods { get; set; }

    /// <summary>Bytes the server allocates to answer one probe reading; subtracted from every phase.</summary>
    public long ProbeOverheadBytes { get; set; }

    public List<PhaseResult> Phases { get; } = [];

    /// <summary>enroll − handshake per operation: the /sen share of an enrollment (CPU ms, bytes).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public (double CpuMs, double Bytes)? SenShare =>
        Phases.FirstOrDefault(p => p.Phase == "enroll") is { } e && Phases.FirstOrDefault(p => p.Phase == "handshake") is { } h
            ? (e.CpuMsPerOperation - h.CpuMsPerOperation, e.AllocatedBytesPerOperation - h.AllocatedBytesPerOperation)
            : null;
}

/// <summary>One measured phase of a <see cref="SenCostRun"/>.</summary>
internal sealed record PhaseResult
{
    public required string Phase { get; init; }

    public int Operations { get; init; }

    public double WallSeconds { get; init; }

    /// <summary>Server utime + stime over the phase.</summary>
    public double CpuMs { get; init; }

    /// <summary>Server managed allocations over the phase, less the probe's own.</summary>
    public long AllocatedBytes { get; init; }

    public int Gen0 { get; init; }

    public int Gen1 { get; init; }

    public int Gen2 { get; init; }

    /// <summary>Methods the server JIT-compiled during the phase (0 when the warm-up did its job) and the time it spent on it.</summary>
    public long JitMethods { get; init; }

    public double JitMs { get; init; }

    public double CpuMsPerOperation => Operations == 0 ? 0 : CpuMs / Operations;

    public double AllocatedBytesPerOperation => Operations == 0 ? 0 : (double)AllocatedBytes / Operations;

    /// <summary>With <c>--types</c>: sampled bytes by type (GCAllocationTick, ~100 KB granularity), the largest first.</summary>
    public List<TypeShare> SampledTypes { get; init; } = [];
}

internal sealed record TypeShare(string Type, long Bytes);
