using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>serve-load [plain] [flood] [dtls] [options]</c>: availability of <c>coapenroll serve</c> with its shipped defaults under
/// load (issue 17), against libcoap 4.3.1 under the same load in the same run, the servers alternating.
/// <list type="bullet">
/// <item><c>plain</c>: 512 UDP clients × 4 confirmable GETs in flight for 30 s.</item>
/// <item><c>flood</c>: one socket sends CON GETs as fast as it can without waiting, while 16 clients do GETs with 1 in
/// flight and (serve only) EST enrollments of the demo device run one after another.</item>
/// <item><c>dtls</c>: 8 DTLS PSK sessions × 4 GETs in flight back to back for 15 s.</item>
/// </list>
/// The servers run as separate processes: <c>dotnet src/CoapEnroll.Cli/bin/Release/net10.0/coapenroll.dll serve --data TMP
/// --bind 127.0.0.1 --coap-port P --coaps-port Q</c> (+ <c>--Dtls:Psk:bench=HEX</c> for dtls), <c>coap-server-notls</c> and
/// <c>coap-server-openssl -k KEY</c>. The load generator is this process: raw UDP sockets (or <see cref="Dtls.DtlsClientChannel"/>
/// sessions) and the project's codec, not the CoAP client, so that no client-side pacing limits it. Serve is asked for
/// <c>/test</c> (diagnostic resource: 107 bytes of text), libcoap for <c>/</c> (136 bytes of text).
/// Options: <c>--rounds N</c> (2), <c>--duration S</c> (per scenario: 30, 20, 15), <c>--clients N</c> (512),
/// <c>--in-flight K</c> (4), <c>--sessions N</c> (8), <c>--flood-clients N</c> (16), <c>--enrollments N</c> (4),
/// <c>--servers serve,libcoap</c> (also <c>serve-async</c>: serve with <c>--Coap:ReceiveMode=Async</c>, the runtime's asynchronous
/// sockets instead of a receive thread per socket; <c>libcoap-gnutls</c>: <c>coap-server-gnutls</c> for dtls), serve's managed
/// allocation per response read through the startup hook of <c>CoapEnroll.Bench.ServerProbe</c>, <c>--drain S</c> (60: the longest wait for outstanding requests after the load window),
/// <c>--json FILE</c> (or <c>-</c> for stdout), <c>--coapenroll DLL</c>. For diagnosis only, <c>--serve-args "ARG ..."</c> and
/// <c>--serve-env NAME=VALUE,...</c> change serve's command line or environment; such a run is labelled "serve (diagnosis: …)"
/// and says nothing about the shipped defaults.
/// </summary>
internal static class ServeLoadMode
{
    private static readonly string[] AllScenarios = ["plain", "flood", "dtls"];

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var scenarios = new List<string>();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                if (i + 1 >= args.Length)
                {
                    Console.Error.WriteLine($"serve-load: {args[i]} needs a value");
                    return 2;
                }

                options[args[i][2..]] = args[++i];
            }
            else if (args[i] == "all")
            {
                scenarios.AddRange(AllScenarios);
            }
            else if (AllScenarios.Contains(args[i]))
            {
                scenarios.Add(args[i]);
            }
            else
            {
                Console.Error.WriteLine($"serve-load: unknown scenario '{args[i]}' (plain, flood, dtls, all)");
                return 2;
            }
        }

        if (scenarios.Count == 0)
        {
            scenarios.AddRange(AllScenarios);
        }

        int rounds = Int(options, "rounds", 2);
        string[] servers = (options.GetValueOrDefault("servers") ?? "serve,libcoap").Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (servers.FirstOrDefault(k => k is not ("serve" or "serve-async" or "libcoap" or "libcoap-gnutls")) is { } unknown)
        {
            Console.Error.WriteLine($"serve-load: unknown server '{unknown}' (serve, serve-async, libcoap, libcoap-gnutls)");
            return 2;
        }

        string dll = options.GetValueOrDefault("coapenroll") ?? FindCoapEnrollDll();
        if (!File.Exists(dll))
        {
            Console.Error.WriteLine($"serve-load: {dll} not found; build it first: dotnet build src/CoapEnroll.Cli -c Release");
            return 2;
        }

        Console.WriteLine($"serve-load: scenarios {string.Join(", ", scenarios)}; servers {string.Join(", ", servers)}; {rounds} round(s); " +
            $"runtime {Environment.Version}; {Environment.ProcessorCount} CPUs; coapenroll {dll}");
        var results = new List<ScenarioResult>();
        for (int round = 1; round <= rounds; round++)
        {
            foreach (string scenario in scenarios)
            {
                foreach (string server in servers)
                {
                    ScenarioResult result = await RunScenarioAsync(scenario, server, round, dll, options);
                    results.Add(result);
                    PrintResult(result);
                }
            }
        }

        PrintTable(results);
        if (options.GetValueOrDefault("json") is { } json)
        {
            string text = JsonSerializer.Serialize(results, JsonOptions);
            if (json == "-")
            {
                Console.WriteLine(text);
            }
            else
            {
                await File.WriteAllTextAsync(json, text);
                Console.WriteLine($"JSON written to {json}");
            }
        }

        return results.Any(r => r.Error is not null) ? 1 : 0;
    }

    private static async Task<ScenarioResult> RunScenarioAsync(string scenario, string serverKind, int round, string dll, Dictionary<string, string> options)
    {
        bool serve = serverKind is "serve" or "serve-async";
        bool dtls = scenario == "dtls";
        double duration = Double(options, "duration", scenario switch { "plain" => 30, "flood" => 20, _ => 15 });
        TimeSpan drain = TimeSpan.FromSeconds(Double(options, "drain", 60));
        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] round {round}: {scenario} against {serverKind}, {duration} s ...");
        string[] diagnosisArguments = (options.GetValueOrDefault("serve-args") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Dictionary<string, string> diagnosisEnvironment = (options.GetValueOrDefault("serve-env") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(v => v.Split('=', 2)).ToDictionary(v => v[0], v => v.Length > 1 ? v[1] : "", StringComparer.Ordinal);
        bool diagnosis = diagnosisArguments.Length > 0 || diagnosisEnvironment.Count > 0;

        // serve's own allocations, read through the bench's startup hook (a blocked thread between two readings: no CPU meanwhile).
        string probeSocket = Path.Combine(Path.GetTempPath(), $"coapenroll-probe-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        var environment = new Dictionary<string, string>(diagnosisEnvironment, StringComparer.Ordinal)
        {
            ["DOTNET_STARTUP_HOOKS"] = Path.Combine(AppContext.BaseDirectory, SenCostMode.ProbeAssembly),
            ["COAPENROLL_BENCH_PROBE"] = probeSocket,
        };

        // serve-async: the earlier default, the runtime's asynchronous sockets (a configuration key, not a diagnosis).
        string[] kindArguments = serverKind == "serve-async" ? ["--Coap:ReceiveMode=Async"] : [];
        string libcoap = dtls ? serverKind == "libcoap-gnutls" ? "coap-server-gnutls" : "coap-server-openssl" : "coap-server-notls";
        await using ServerUnderTest server = serve
            ? await ServerUnderTest.StartServeAsync(dll, psk: dtls, diagnosisArguments, environment, scenarioArguments: kindArguments)
            : await ServerUnderTest.StartLibCoapAsync(dtls, libcoap);
        SenCostMode.ServerProbe? probe = serve ? new SenCostMode.ServerProbe(probeSocket) : null;
        string label = serve ? "coapenroll serve" + (kindArguments.Length > 0 ? $" ({kindArguments[0].TrimStart('-')})" : "") : $"libcoap {libcoap}";
        var result = new ScenarioResult
        {
            Scenario = scenario,
            Server = diagnosis && serve
                ? $"{label} (diagnosis: {string.Join(' ', diagnosisEnvironment.Select(v => $"{v.Key}={v.Value}").Concat(diagnosisArguments))})"
                : label,
            Command = server.CommandLine,
            Resource = server.Path,
            Round = round,
            LoadAverageBefore = LoadAverage(),
            DurationSeconds = duration,
        };
        var parameters = new LoadParameters();
        var transports = new List<ILoadTransport>();
        long probeOverhead = probe is null ? 0 : await probe.OverheadAsync();
        long allocatedBefore = probe is null ? 0 : (await probe.ReadAsync()).Allocated;
        ServerMonitor monitor = ServerMonitor.Start(server.Pid, dtls ? server.CoapsEndPoint.Port : server.CoapPort);
        long responses = 0;
        try
        {
            if (dtls)
            {
                int sessions = Int(options, "sessions", 8);
                for (int i = 0; i < sessions; i++)
                {
                    using var connect = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                    transports.Add(await DtlsLoadTransport.ConnectAsync(server.CoapsEndPoint, ServerUnderTest.PskIdentity, ServerUnderTest.PskKey, connect.Token));
                }
            }
            else
            {
                int clients = scenario == "flood" ? Int(options, "flood-clients", 16) : Int(options, "clients", 512);
                for (int i = 0; i < clients; i++)
                {
                    transports.Add(new UdpLoadTransport(server.CoapEndPoint));
                }
            }

            int inFlight = scenario == "flood" ? 1 : Int(options, "in-flight", 4);
            long windowEnd = Stopwatch.GetTimestamp() + (long)(duration * Stopwatch.Frequency);
            var group = new LoadGroup(transports, server.Path, inFlight, parameters, windowEnd);
            TimeSpan generatorCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            FloodSender? flood = null;
            Task<List<EnrollmentResult>>? enrollments = null;
            if (scenario == "flood")
            {
                flood = new FloodSender(server.CoapEndPoint, server.Path);
                flood.Start(windowEnd);
                if (serve)
                {
                    enrollments = EnrollmentProbe.RunAsync(server.CoapsEndPoint, server.DataDirectory!, Int(options, "enrollments", 4),
                        TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), windowEnd - Stopwatch.Frequency);
                }
            }

            group.Start();
            await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, (windowEnd - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency)));
            group.StopIssuing();
            if (flood is not null)
            {
                await flood.StopAsync(TimeSpan.FromSeconds(1));
                result.FloodSent = flood.Sent;
                result.FloodSendErrors = flood.SendErrors;
                result.FloodAnswered = flood.Received;
                result.FloodOk = flood.Ok;
                result.FloodServiceUnavailable = flood.ServiceUnavailable;
                responses += flood.Received;
            }

            int unfinished = await group.StopAsync(drain);
            result.LoadGeneratorCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - generatorCpuBefore).TotalSeconds;
            if (enrollments is not null)
            {
                result.Enrollments = await enrollments;
            }

            result.Load = LoadSummary.From(group, unfinished, duration);
            responses += result.Load.Codes.Values.Sum();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            result.Error = $"{ex.GetType().Name}: {ex.Message}{Environment.NewLine}{server.RecentOutput()}";
        }
        finally
        {
            await monitor.StopAsync();
            foreach (ILoadTransport transport in transports)
            {
                await transport.DisposeAsync();
            }
        }

        if (probe is not null && responses > 0 && result.Error is null)
        {
            long allocated = (await probe.ReadAsync()).Allocated - allocatedBefore - probeOverhead;
            result.ServerAllocatedBytesPerRequest = (double)allocated / responses;
        }

        result.LoadAverageAfter = LoadAverage();
        result.ServerCpuSeconds = monitor.Cpu.TotalSeconds;
        result.ServerCpuUsPerRequest = responses == 0 ? 0 : monitor.Cpu.TotalMilliseconds * 1000 / responses;
        result.LoadGeneratorCpuUsPerRequest = responses == 0 ? 0 : result.LoadGeneratorCpuSeconds * 1e6 / responses;
        result.RssStartMb = Mb(monitor.RssStart);
        result.RssPeakMb = Mb(monitor.RssPeak);
        result.RssEndMb = Mb(monitor.RssEnd);
        result.RssPerSecondMb = [.. monitor.RssPerSecond.Select(Mb)];
        result.SocketDrops = monitor.SocketDrops;
        return result;
    }

    private static void PrintResult(ScenarioResult r)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"  {r.Scenario} / {r.Server} (GET {r.Resource}), round {r.Round}, load average {r.LoadAverageBefore} -> {r.LoadAverageAfter}");
        text.AppendLine(CultureInfo.InvariantCulture, $"    $ {r.Command}");
        if (r.Error is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    ERROR {r.Error}");
        }

        if (r.Load is { } l)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"    {l.Clients} clients x {l.InFlight}: {l.RequestsPerSecond:F0} req/s, sent {l.Sent}, codes {string.Join(' ', l.Codes.Select(c => $"{c.Key}:{c.Value}"))}, " +
                $"failed {l.Failed}, unfinished {l.Unfinished}, resets {l.Resets}, retransmissions {l.Retransmissions}, send errors {l.SendErrors}");
            text.AppendLine(CultureInfo.InvariantCulture,
                $"    2.05 per client min/median/max {l.MinOkPerClient}/{l.MedianOkPerClient}/{l.MaxOkPerClient}, never answered {l.ClientsNeverAnswered}; " +
                $"latency p50 {l.P50Ms:F2} p90 {l.P90Ms:F2} p99 {l.P99Ms:F2} max {l.MaxMs:F1} ms");
        }

        text.AppendLine(CultureInfo.InvariantCulture,
            $"    server CPU {r.ServerCpuSeconds:F1} s = {r.ServerCpuUsPerRequest:F1} us/response (load generator {r.LoadGeneratorCpuUsPerRequest:F1}); RSS start {r.RssStartMb:F1} peak {r.RssPeakMb:F1} end {r.RssEndMb:F1} MB " +
            $"(growth {r.RssGrowthMb:F1} MB); socket drops {r.SocketDrops}");
        if (r.ServerAllocatedBytesPerRequest is { } bytes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    server managed allocation {bytes:F0} B/response");
        }

        if (r.FloodSent is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"    flood: sent {r.FloodSent} ({r.FloodSent / r.DurationSeconds:F0}/s, send errors {r.FloodSendErrors}), answered {r.FloodAnswered}, 2.05 {r.FloodOk}, 5.03 {r.FloodServiceUnavailable}");
        }

        foreach (EnrollmentResult e in r.Enrollments ?? [])
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"    enrollment: {(e.Issued ? "issued" : "FAILED")} handshake {e.HandshakeMs:F0} ms, total {e.TotalMs:F0} ms ({e.Detail})");
        }

        Console.Write(text.ToString());
    }

    private static void PrintTable(List<ScenarioResult> results)
    {
        Console.WriteLine();
        Console.WriteLine("| scenario | server | round | load avg | req/s | 2.05 | 5.03 | other | failed | unfinished | retrans | clients never answered | min 2.05/client | p50 / p90 / p99 / max ms | server CPU µs/resp | RSS start / peak / end MB | socket drops | flood sent / 5.03 | enrollments ok, ms |");
        Console.WriteLine("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|---|");
        foreach (ScenarioResult r in results)
        {
            LoadSummary l = r.Load ?? new LoadSummary();
            string flood = r.FloodSent is null ? "" : $"{r.FloodSent} / {r.FloodServiceUnavailable}";
            string enroll = r.Enrollments is null ? "" :
                $"{r.Enrollments.Count(e => e.Issued)}/{r.Enrollments.Count}, {string.Join(' ', r.Enrollments.Select(e => e.TotalMs.ToString("F0", CultureInfo.InvariantCulture)))}";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Scenario} | {r.Server} {r.Resource} | {r.Round} | {r.LoadAverageBefore.Split(' ')[0]} | {l.RequestsPerSecond:F0} | {l.Ok} | {l.ServiceUnavailable} | " +
                $"{l.OtherResponses - l.ServiceUnavailable} | {l.Failed} | {l.Unfinished} | {l.Retransmissions} | {l.ClientsNeverAnswered}/{l.Clients} | {l.MinOkPerClient} | " +
                $"{l.P50Ms:F1} / {l.P90Ms:F1} / {l.P99Ms:F1} / {l.MaxMs:F0} | {r.ServerCpuUsPerRequest:F1} | {r.RssStartMb:F0} / {r.RssPeakMb:F0} / {r.RssEndMb:F0} | " +
                $"{r.SocketDrops} | {flood} | {enroll}{(r.Error is null ? "" : " ERROR")} |"));
        }
    }

    internal static string FindCoapEnrollDll()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "src", "CoapEnroll.Cli", "CoapEnroll.Cli.csproj")))
            {
                return Path.Combine(directory.FullName, "src", "CoapEnroll.Cli", "bin", "Release", "net10.0", "coapenroll.dll");
            }
        }

        return Path.Combine("src", "CoapEnroll.Cli", "bin", "Release", "net10.0", "coapenroll.dll");
    }

    private static string LoadAverage()
    {
        string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"{fields[0]} {fields[1]} {fields[2]}";
    }

    private static double Mb(long bytes) => Math.Round(bytes / (1024.0 * 1024.0), 1);

    private static int Int(Dictionary<string, string> options, string name, int fallback) =>
        options.TryGetValue(name, out string? value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    private static double Double(Dictionary<string, string> options, string name, double fallback) =>
        options.TryGetValue(name, out string? value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
