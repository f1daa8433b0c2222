using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>enroll-scale [options]</c> (issue 12, targets 3, 4 and 6), in one run:
/// <list type="number">
/// <item>the <see cref="CryptoBound"/> of one enrollment and of its handshake on this machine (while serve idles);</item>
/// <item>full EST-coaps enrollments against <c>coapenroll serve</c> (fresh data directory, free ports): at each concurrency, that
/// many workers each doing, over and over for <c>--duration</c> seconds, a new DTLS 1.2 ECDHE_ECDSA handshake with a device
/// certificate and <c>/sen</c> with a new P-256 key. Which device certificate, <c>--devices</c>:
/// <list type="bullet">
/// <item><c>fresh</c> (the default; issue 12's "new device"): every enrollment is a device serve has never seen. Device N has a
/// certificate and P-256 key of its own from the bench's manufacturer (<see cref="BenchManufacturer"/>, in a temporary directory),
/// which serve trusts through its shipped option <c>--trust-manufacturer</c>, and enrolls <c>CN=bench-dev-N</c> under serve's shipped
/// name policy; serve runs on its shipped defaults otherwise. So serve decodes the certificate and validates its chain on every
/// handshake and checks trust again in the enrollment layer: its caches of validated client chains and of trust decisions never
/// hit. The certificates are made ahead of use by a background producer with a bounded queue (<see cref="FreshDevices"/>); each
/// phase counts how often an operation waited for one. The producer's CPU is the load generator's, and so is that of validating
/// serve's chain on every handshake (each new device has a client of its own, without the server-chain cache of an earlier
/// handshake);</item>
/// <item><c>known</c>: a device serve already knows. serve's demo device certificate (DIR/demo/device.pem, issued by the demo
/// manufacturer CA serve trusts) for every enrollment and handshake, so that after the first one serve's chain and trust-decision
/// caches answer (no certificate decode, no chain build). <c>/sen</c> asks for a new subject each time, CN=bench-device-N
/// (<c>--names unique</c>, the default; serve then runs with <c>--Ca:Profiles:default:NamePolicy=AnyName</c>, since the shipped
/// profile binds names to the client certificate), or for CN=demo-device-1 every time (<c>--names same</c>, like sen-cost: serve
/// re-enrolls the same subject as often as asked). Every enrollment still has a new handshake, a CSR check, a name check and a new
/// certificate signed and stored.</item>
/// </list></item>
/// <item>handshakes only (the same ECDHE_ECDSA handshake, with a new device certificate per handshake under <c>fresh</c> and the
/// demo device's under <c>known</c>, then close_notify) at <c>--handshake-concurrency</c>; then serve again with a PSK added (<c>--Dtls:Psk:bench=…</c>, as serve-load's dtls) for PSK
/// handshakes at concurrency 1 and <c>--handshake-concurrency</c>; then <c>openssl s_server -dtls1_2 -psk</c> driven by the same
/// client at concurrency 1 (s_server serves one connection at a time);</item>
/// <item>a JSON (<c>--json</c>, default enroll-scale.json) and an SVG chart (<c>--svg</c>, default enroll-scale.svg): enrollments/s and
/// p99 latency against concurrency, handshakes/s against the bound, and, given <c>--serve-load FILE</c> (serve-load's JSON),
/// requests/s of serve against libcoap by scenario.</item>
/// </list>
/// Server CPU is utime + stime of the server process from /proc/PID/stat (10 ms ticks) over each phase. The load generator runs in
/// this process on the same machine, so on few cores it takes CPU the server would otherwise have: the wall-clock rates are
/// bounded by client + server, the CPU per operation is the server's alone.
/// The bound counts one verify per certificate the device sends (<see cref="EnrollScaleReport.ChainCertificates"/>: 1 for a bench
/// device, which sends its certificate alone), the same in both modes; under <c>known</c> serve skips those verifies once it has
/// cached the chain, so its CPU per enrollment can come out nearer the bound than a new device's.
/// Options: <c>--devices fresh|known</c> (fresh), <c>--names unique|same</c> (known only), <c>--device-addresses N</c> (16: the
/// devices of the certificate phases connect from loopback source addresses 127.0.0.2 to 127.0.0.(N+1) in turn, as devices come from
/// many addresses; serve bounds handshakes in progress per address, <c>Dtls:MaxHandshakesPerAddress</c> 64, so with 1 (every device
/// from 127.0.0.1, like devices behind one NAT) 256 devices meet that bound; each phase prints the handshakes serve refused, from its
/// <c>/metrics</c>), <c>--levels 1,16,256</c>, <c>--duration S</c> (20, per level), <c>--handshake-duration S</c> (8),
/// <c>--handshake-concurrency N</c> (16), <c>--warmup S</c> (20: half enrollments, half handshakes, at concurrency 4; serve JIT-compiles for a long time), <c>--bound-seconds S</c> (1, per operation, single and all cores),
/// <c>--coapenroll DLL</c>, <c>--json FILE</c>, <c>--svg FILE</c>, <c>--serve-load FILE</c>, <c>--openssl PROGRAM</c> (openssl;
/// <c>none</c> skips it), <c>--pin S:C</c> (off: serve and openssl s_server run only on CPU list S, the load generator's threads only on
/// C, with <c>taskset</c>, from after the crypto bound on; then the ECDHE handshake phase is compared with the bound's rate on one core,
/// and each phase says whether serve or the client filled its CPUs; use <c>--warmup 60</c> with it, a serve on one core JIT-compiles
/// for long), <c>--client-cache-rounds N</c> (0: N pairs of ECDHE handshake phases, the client with and without its server-chain cache,
/// alternated; these use the demo device in both modes, since they measure the client's cache of serve's chain). <c>--chart-from FILE</c> only writes the chart (<c>--svg</c>) again from an earlier run's JSON (with
/// <c>--serve-load</c> if given).
/// </summary>
internal static class EnrollScaleMode
{
    private static int s_device;

    /// <summary>127.0.0.2 to 127.0.0.254.</summary>
    private const int MaxDeviceAddresses = 253;

    internal static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"enroll-scale: unexpected argument '{args[i]}' (options take a value: --name VALUE)");
                return 2;
            }

            options[args[i][2..]] = args[++i];
        }

        if (options.GetValueOrDefault("chart-from") is { } earlier)
        {
            // Only the chart again, from an earlier run's JSON (e.g. with a serve-load JSON that did not exist then).
            EnrollScaleReport old = JsonSerializer.Deserialize<EnrollScaleReport>(await File.ReadAllTextAsync(earlier), JsonOptions)
                ?? throw new InvalidOperationException($"{earlier} holds no report");
            if (options.GetValueOrDefault("serve-load") is { } loadFile)
            {
                old = old with { ServeLoad = ReadServeLoad(loadFile) };
            }

            string chartFile = options.GetValueOrDefault("svg") ?? "enroll-scale.svg";
            await File.WriteAllTextAsync(chartFile, Chart(old));
            Console.WriteLine($"chart from {earlier} written to {chartFile}");
            return 0;
        }

        int[] levels = [.. (options.GetValueOrDefault("levels") ?? "1,16,256").Split(',').Select(l => int.Parse(l, CultureInfo.InvariantCulture))];
        TimeSpan duration = TimeSpan.FromSeconds(Double(options, "duration", 20));
        TimeSpan handshakeDuration = TimeSpan.FromSeconds(Double(options, "handshake-duration", 8));
        int handshakeConcurrency = (int)Double(options, "handshake-concurrency", 16);
        int clientCacheRounds = (int)Double(options, "client-cache-rounds", 0);
        TimeSpan warmup = TimeSpan.FromSeconds(Double(options, "warmup", 20));
        TimeSpan boundPerOperation = TimeSpan.FromSeconds(Double(options, "bound-seconds", 1));
        string dll = Path.GetFullPath(options.GetValueOrDefault("coapenroll") ?? ServeLoadMode.FindCoapEnrollDll());
        string jsonPath = options.GetValueOrDefault("json") ?? "enroll-scale.json";
        string svgPath = options.GetValueOrDefault("svg") ?? "enroll-scale.svg";
        string openssl = options.GetValueOrDefault("openssl") ?? "openssl";
        string devicesMode = options.GetValueOrDefault("devices") ?? "fresh";
        if (devicesMode is not ("fresh" or "known"))
        {
            Console.Error.WriteLine($"enroll-scale: --devices is fresh (a new device certificate per operation) or known (serve's demo device), not '{devicesMode}'");
            return 2;
        }

        bool fresh = devicesMode == "fresh";
        if (fresh && options.ContainsKey("names"))
        {
            Console.Error.WriteLine("enroll-scale: --names is for --devices known; a fresh device N always enrolls CN=bench-dev-N");
            return 2;
        }

        string names = options.GetValueOrDefault("names") ?? "unique";
        if (names is not ("unique" or "same"))
        {
            Console.Error.WriteLine($"enroll-scale: --names is unique or same, not '{names}'");
            return 2;
        }

        bool uniqueNames = names == "unique";
        int deviceAddresses = (int)Double(options, "device-addresses", 16);
        if (deviceAddresses is < 1 or > MaxDeviceAddresses)
        {
            Console.Error.WriteLine($"enroll-scale: --device-addresses is 1 to {MaxDeviceAddresses} (loopback source addresses 127.0.0.2 on), not {deviceAddresses}");
            return 2;
        }

        string? pinServe = null, pinClient = null;
        if (options.GetValueOrDefault("pin") is { } pin)
        {
            string[] parts = pin.Split(':');
            if (parts.Length != 2 || parts.Any(p => p.Length == 0 || !p.All(c => char.IsAsciiDigit(c) || c is ',' or '-')))
            {
                Console.Error.WriteLine($"enroll-scale: --pin is SERVE_CPUS:CLIENT_CPUS (taskset -c lists), e.g. 0:1, not '{pin}'");
                return 2;
            }

            (pinServe, pinClient) = (parts[0], parts[1]);
        }

        if (!File.Exists(dll))
        {
            Console.Error.WriteLine($"enroll-scale: {dll} not found; build it first: dotnet build src/CoapEnroll.Cli -c Release");
            return 2;
        }

        List<ScenarioSummary>? serveLoad = null;
        if (options.GetValueOrDefault("serve-load") is { } serveLoadPath)
        {
            try
            {
                serveLoad = ReadServeLoad(serveLoadPath);
            }
            catch (Exception ex) when (ex is IOException or JsonException or InvalidOperationException or KeyNotFoundException)
            {
                Console.Error.WriteLine($"enroll-scale: cannot read serve-load JSON {serveLoadPath}: {ex.Message}");
                return 2;
            }
        }

        var report = new EnrollScaleReport
        {
            Runtime = Environment.Version.ToString(),
            Cores = Environment.ProcessorCount,
            LoadAverageBefore = LoadAverage(),
            ServeLoad = serveLoad,
            Devices = fresh
                ? "fresh: every enrollment and ECDHE handshake presents a new device certificate (bench manufacturer) serve has never seen"
                : "known: serve's demo device certificate for every enrollment and ECDHE handshake, a device serve already knows",
            Names = fresh ? "CN=bench-dev-N, the name device N's certificate holds"
                : uniqueNames ? "unique: CN=bench-device-N, a new name per enrollment" : $"same: {EnrollmentProbe.Subject} every time",
            Pin = pinServe is null ? null : $"serve and s_server on CPUs {pinServe}, load generator on CPUs {pinClient}",
            DeviceAddresses = deviceAddresses == 1 ? "1: every device from the address the system picks (127.0.0.1)"
                : $"{deviceAddresses}: devices take source addresses 127.0.0.2 to 127.0.0.{deviceAddresses + 1} in turn",
        };
        Console.WriteLine($"enroll-scale: {dll}; levels {string.Join(",", levels)} × {duration.TotalSeconds} s; {report.Cores} CPUs; load average {report.LoadAverageBefore}");

        // Fresh devices come from the bench's own manufacturer, which serve trusts through a shipped option. Unique names for the
        // known demo device need a profile without name binding: the shipped default profile issues the demo device only names its
        // certificate holds (README, "Who may get which name").
        string? manufacturerDirectory = fresh ? Directory.CreateTempSubdirectory("coapenroll-enroll-scale-manufacturer-").FullName : null;
        try
        {
            using BenchManufacturer? manufacturer = fresh ? BenchManufacturer.LoadOrCreate(manufacturerDirectory!, out _) : null;
            string[] enrollArguments = fresh ? ["--trust-manufacturer", manufacturer!.CertificatePath]
                : uniqueNames ? ["--Ca:Profiles:default:NamePolicy=AnyName"] : [];
            report.ServeOptions = fresh ? "shipped defaults, with the shipped option --trust-manufacturer for the bench's manufacturer CA"
                : uniqueNames ? "shipped defaults except --Ca:Profiles:default:NamePolicy=AnyName (the shipped policy is BoundToRequester)"
                : "shipped defaults";
            await RunCertificatePhasesAsync(report, dll, enrollArguments, manufacturer, uniqueNames, deviceAddresses, levels, duration, handshakeDuration,
                handshakeConcurrency, clientCacheRounds, warmup, boundPerOperation, pinServe, pinClient);
        }
        finally
        {
            if (manufacturerDirectory is not null)
            {
                Directory.Delete(manufacturerDirectory, recursive: true);
            }
        }

        // PSK only: a client that also offers ECDHE gets serve's certificate, which it has no trust anchor for.
        var psk = new DtlsClientOptions
        {
            PskIdentity = Encoding.UTF8.GetBytes(ServerUnderTest.PskIdentity),
            PskKey = ServerUnderTest.PskKey,
            CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8],
        };
        await using (ServerUnderTest server = await ServerUnderTest.StartServeAsync(dll, psk: true, cpus: pinServe))
        {
            report.PskServeCommand = server.CommandLine;
            IPEndPoint coaps = server.CoapsEndPoint;
            await RunPhaseAsync("warm-up", 4, warmup / 2, server.Pid, () => HandshakeAsync(coaps, psk));
            foreach (int level in new[] { 1, handshakeConcurrency }.Distinct())
            {
                ScalePhase phase = await RunPhaseAsync("handshake-psk", level, handshakeDuration, server.Pid, () => HandshakeAsync(coaps, psk));
                report.Handshakes.Add(phase);
                Print(phase, null, null);
            }
        }

        if (openssl != "none")
        {
            try
            {
                ScalePhase phase = await RunOpenSslAsync(openssl, psk, warmup / 2, handshakeDuration, pinServe);
                report.Handshakes.Add(phase);
                Print(phase, null, null);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or System.ComponentModel.Win32Exception or TimeoutException)
            {
                report.OpenSslError = ex.Message;
                Console.WriteLine($"  openssl s_server: not measured: {ex.Message}");
            }
        }

        report.LoadAverageAfter = LoadAverage();
        PrintSummary(report);
        await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, JsonOptions));
        await File.WriteAllTextAsync(svgPath, Chart(report));
        Console.WriteLine($"JSON written to {jsonPath}, chart to {svgPath}");
        return report.Enrollments.All(e => e.Failures == 0) && report.Handshakes.All(h => h.Failures == 0) ? 0 : 1;
    }

    /// <summary>
    /// The phases with a device certificate, against one serve: the crypto bound, warm-up, enrollments at each level, ECDHE handshakes,
    /// the client-cache rounds. With <paramref name="manufacturer"/> every operation takes a new device from <see cref="FreshDevices"/>;
    /// without, every operation is serve's demo device.
    /// </summary>
    private static async Task RunCertificatePhasesAsync(EnrollScaleReport report, string dll, string[] enrollArguments, BenchManufacturer? manufacturer,
        bool uniqueNames, int deviceAddresses, int[] levels, TimeSpan duration, TimeSpan handshakeDuration, int handshakeConcurrency, int clientCacheRounds, TimeSpan warmup,
        TimeSpan boundPerOperation, string? pinServe, string? pinClient)
    {
        await using ServerUnderTest server = await ServerUnderTest.StartServeAsync(dll, psk: false, scenarioArguments: enrollArguments, cpus: pinServe);
        report.ServeCommand = server.CommandLine;
        DtlsClientOptions demo = await EnrollmentProbe.LoadDemoDeviceAsync(server.DataDirectory!);

        // A bench device sends its certificate alone (the manufacturer CA is serve's trust anchor); the demo device its chain.
        using X509Certificate2? sample = manufacturer?.IssueDevice(0);
        X509Certificate2 deviceCertificate = sample ?? demo.ClientCertificate!;
        report.ChainCertificates = manufacturer is not null ? 1 : 1 + demo.ClientCertificateChain.Count;
        report.Keys = DescribeKeys(server.DataDirectory!, deviceCertificate);
        Console.WriteLine($"  devices: {report.Devices}");
        Console.WriteLine($"  device source addresses: {report.DeviceAddresses}");
        Console.WriteLine($"  serve: {report.ServeOptions}");
        Console.WriteLine($"  keys: {report.Keys}; the device sends {report.ChainCertificates} certificate(s)");

        Console.WriteLine($"  crypto bound: each operation {boundPerOperation.TotalSeconds} s on 1 thread, then {boundPerOperation.TotalSeconds} s on {report.Cores} threads (serve idles meanwhile)");
        report.Bound = CryptoBound.Measure(report.ChainCertificates, boundPerOperation, deviceCertificate.RawData);
        PrintBound(report.Bound);
        if (pinClient is not null)
        {
            // After the bound, whose all-cores part needs every core; threads started later inherit the mask.
            await PinAsync(Environment.ProcessId, pinClient);
            Console.WriteLine($"  pinned: {report.Pin}");
        }

        IPEndPoint coaps = server.CoapsEndPoint;
        // Four devices per worker of the largest phase, so that the queue holds more than one round of every worker.
        int capacity = Math.Max(256, 4 * Math.Max(handshakeConcurrency, levels.Max()));
        await using FreshDevices? devices = manufacturer is null ? null
            : new FreshDevices(manufacturer, [.. demo.ServerCertificateTrustAnchors], capacity);
        int turn = 0;
        IPAddress? NextSource() => deviceAddresses == 1 ? null
            : new IPAddress([127, 0, 0, (byte)(2 + ((uint)Interlocked.Increment(ref turn) % (uint)deviceAddresses))]);
        Func<Task<(bool Ok, string? Error)>> enroll = devices is null ? () => EnrollAsync(coaps, demo, uniqueNames, NextSource())
            : () => EnrollFreshAsync(coaps, devices, NextSource());
        Func<Task<(bool Ok, string? Error)>> handshake = devices is null ? () => HandshakeAsync(coaps, demo, TimeSpan.FromSeconds(60), NextSource())
            : () => HandshakeFreshAsync(coaps, devices, NextSource());

        // serve's own count of handshakes its bounds refused (Dtls:MaxHandshakesPerAddress and the others), read from its /metrics.
        using var metrics = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Uri metricsUri = new(await server.WaitForHttpBaseAddressAsync(TimeSpan.FromSeconds(30)), "metrics");
        async Task<ScalePhase> PhaseAsync(string name, int concurrency, TimeSpan length, Func<Task<(bool Ok, string? Error)>> operation)
        {
            long waitsBefore = devices?.Waits ?? 0;
            Dictionary<string, long> refusedBefore = await RefusedHandshakesAsync(metrics, metricsUri);
            ScalePhase phase = await RunPhaseAsync(name, concurrency, length, server.Pid, operation);
            Dictionary<string, long> refusedAfter = await RefusedHandshakesAsync(metrics, metricsUri);
            phase = phase with
            {
                HandshakesRefused = refusedAfter.Select(r => (r.Key, Count: r.Value - refusedBefore.GetValueOrDefault(r.Key)))
                    .Where(r => r.Count != 0).ToDictionary(r => r.Key, r => r.Count, StringComparer.Ordinal),
            };
            return devices is null ? phase : phase with { DeviceCertificateWaits = devices.Waits - waitsBefore };
        }

        if (devices is not null)
        {
            Console.WriteLine($"  device certificates: made ahead by a background producer, queue of {devices.Capacity}");
        }

        Console.WriteLine($"  warm-up: {warmup.TotalSeconds} s of enrollments and handshakes at concurrency 4");
        await PhaseAsync("warm-up", 4, warmup / 2, enroll);
        await PhaseAsync("warm-up", 4, warmup / 2, handshake);

        foreach (int level in levels)
        {
            ScalePhase phase = await PhaseAsync("enroll", level, duration, enroll);
            report.Enrollments.Add(phase);
            Print(phase, report.Bound.EnrollmentCpuUs, report.Bound.EnrollmentsPerSecond);
        }

        ScalePhase ecdhe = await PhaseAsync("handshake-ecdhe-ecdsa", handshakeConcurrency, handshakeDuration, handshake);
        report.Handshakes.Add(ecdhe);
        Print(ecdhe, report.Bound.HandshakeCpuUs, report.Bound.HandshakesPerSecond);
        if (pinServe is not null)
        {
            Console.WriteLine(PinnedVerdict(ecdhe, report.Bound));
        }

        for (int round = 0; round < clientCacheRounds; round++)
        {
            // The same device, once validating serve's chain on every handshake and once with the shipped cache, alternated. The demo
            // device in both modes: these rounds measure the client's cache of serve's chain, which a new device per handshake never hits.
            DtlsClientOptions uncached = await EnrollmentProbe.LoadDemoDeviceAsync(server.DataDirectory!);
            uncached.ServerChainCacheSize = 0;
            DtlsClientOptions cached = await EnrollmentProbe.LoadDemoDeviceAsync(server.DataDirectory!);
            foreach ((string label, DtlsClientOptions client) in (round % 2 == 0 ? [("no-cache", uncached), ("cache", cached)] : new[] { ("cache", cached), ("no-cache", uncached) }))
            {
                ScalePhase phase = await RunPhaseAsync($"handshake-ecdhe-ecdsa-client-{label}", handshakeConcurrency, handshakeDuration / 2, server.Pid,
                    () => HandshakeAsync(coaps, client));
                report.ClientCacheRounds.Add(phase);
                Print(phase, null, null);
            }
        }

        report.DeviceCertificatesIssued = devices?.Issued;
        report.DeviceCertificateWaits = devices?.Waits;
    }

    private static Task<ScalePhase> RunPhaseAsync(string name, int concurrency, TimeSpan duration, int serverPid, Func<Task<(bool Ok, string? Error)>> operation) =>
        RunPhaseAsync(name, concurrency, duration, () => ProcessStats.CpuTime(serverPid), operation);

    /// <summary>
    /// <paramref name="concurrency"/> workers each doing <paramref name="operation"/> back to back until <paramref name="duration"/>
    /// has passed (none starts after it; those under way finish), with the server's CPU (<paramref name="serverCpu"/>: one process, or
    /// the sum of several nodes), the database's (<paramref name="databaseCpu"/>, when there is one apart from the server) and this
    /// process's CPU over the phase.
    /// </summary>
    internal static async Task<ScalePhase> RunPhaseAsync(string name, int concurrency, TimeSpan duration, Func<TimeSpan> serverCpu,
        Func<Task<(bool Ok, string? Error)>> operation, Func<TimeSpan>? databaseCpu = null)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        string load = LoadAverage();
        TimeSpan serverCpuAtStart = serverCpu();
        TimeSpan? databaseCpuAtStart = databaseCpu?.Invoke();
        TimeSpan clientCpu = ProcessStats.CpuTime(Environment.ProcessId);
        long started = Stopwatch.GetTimestamp();
        long lastStart = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var latencies = new List<double>();
        var errors = new Dictionary<string, int>(StringComparer.Ordinal);
        int failures = 0;
        using var progress = new Timer(_ => Console.Write($"\r    {name} ×{concurrency}: {latencies.Count} done, {Volatile.Read(ref failures)} failed   "),
            null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        var workers = new Task[concurrency];
        for (int w = 0; w < concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                while (Stopwatch.GetTimestamp() < lastStart)
                {
                    long begun = Stopwatch.GetTimestamp();
                    (bool ok, string? error) = await operation();
                    double ms = Stopwatch.GetElapsedTime(begun).TotalMilliseconds;
                    lock (latencies)
                    {
                        if (ok)
                        {
                            latencies.Add(ms);
                        }
                        else
                        {
                            failures++;
                            string key = error ?? "?";
                            errors[key] = errors.GetValueOrDefault(key) + 1;
                        }
                    }
                }
            });
        }

        await Task.WhenAll(workers);
        double wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        await progress.DisposeAsync();
        Console.Write("\r" + new string(' ', 100) + "\r");

        // What the last operations left to the server (close_notify, the database write, a log line) belongs to the phase.
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        double serverCpuMs = (serverCpu() - serverCpuAtStart).TotalMilliseconds;
        double? databaseCpuMs = databaseCpu is null ? null : (databaseCpu() - databaseCpuAtStart!.Value).TotalMilliseconds;
        double clientCpuMs = (ProcessStats.CpuTime(Environment.ProcessId) - clientCpu).TotalMilliseconds;
        latencies.Sort();
        return new ScalePhase
        {
            Phase = name,
            Concurrency = concurrency,
            LoadAverage = load,
            WallSeconds = wall,
            Completed = latencies.Count,
            Failures = failures,
            Errors = errors,
            PerSecond = latencies.Count / wall,
            P50Ms = Percentile(latencies, 0.50),
            P90Ms = Percentile(latencies, 0.90),
            P99Ms = Percentile(latencies, 0.99),
            MaxMs = latencies.Count == 0 ? double.NaN : latencies[^1],
            ServerCpuUsPerOperation = latencies.Count == 0 ? double.NaN : serverCpuMs * 1000 / latencies.Count,
            ClientCpuUsPerOperation = latencies.Count == 0 ? double.NaN : clientCpuMs * 1000 / latencies.Count,
            ServerCpuShare = serverCpuMs / 1000 / wall,
            ClientCpuShare = clientCpuMs / 1000 / wall,
            DatabaseCpuUsPerOperation = databaseCpuMs is not { } db ? null : latencies.Count == 0 ? double.NaN : db * 1000 / latencies.Count,
            DatabaseCpuShare = databaseCpuMs / 1000 / wall,
        };
    }

    /// <summary>
    /// Our client's PSK handshakes against <c>openssl s_server -dtls1_2 -psk</c>, one at a time: s_server accepts one DTLS
    /// connection, serves it until close_notify, then listens again.
    /// </summary>
    private static async Task<ScalePhase> RunOpenSslAsync(string openssl, DtlsClientOptions psk, TimeSpan warmup, TimeSpan duration, string? cpus)
    {
        // The port is free when picked and bound by s_server only later; when another process took it meanwhile, s_server exits
        // saying so, and is started again on a new port, a bounded number of times (as serve and libcoap are).
        for (int attempt = 1; ; attempt++)
        {
            int port = ServerUnderTest.FreeUdpPort();
            var info = new ProcessStartInfo(cpus is null ? openssl : "taskset")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            if (cpus is not null)
            {
                info.ArgumentList.Add("-c");
                info.ArgumentList.Add(cpus);
                info.ArgumentList.Add(openssl); // taskset execs it: the process id stays s_server's
            }

            foreach (string argument in (string[])["s_server", "-dtls1_2", "-accept", $"127.0.0.1:{port}", "-nocert", "-psk", Convert.ToHexString(psk.PskKey!),
                "-psk_identity", ServerUnderTest.PskIdentity, "-cipher", "PSK-AES128-CCM8", "-quiet"])
            {
                info.ArgumentList.Add(argument);
            }

            using Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {openssl}");
            var output = new StringBuilder();
            process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.BeginErrorReadLine();
            try
            {
                string commandLine = $"{info.FileName} {string.Join(' ', info.ArgumentList)}";
                using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                // -quiet prints nothing when it is ready; wait for the first handshake to succeed instead.
                var endPoint = new IPEndPoint(IPAddress.Loopback, port);
                bool portTaken = false;
                while (true)
                {
                    (bool ok, string? error) = await HandshakeAsync(endPoint, psk, TimeSpan.FromSeconds(3));
                    if (ok)
                    {
                        break;
                    }

                    if (process.HasExited || ready.IsCancellationRequested)
                    {
                        if (process.HasExited)
                        {
                            await process.WaitForExitAsync(); // and for the end of its output
                        }

                        string text;
                        lock (output)
                        {
                            text = output.ToString();
                        }

                        if (process.HasExited && attempt < ServerUnderTest.MaxServeStarts && ServerUnderTest.ReportsAddressInUse(text))
                        {
                            portTaken = true;
                            break;
                        }

                        throw new InvalidOperationException($"{commandLine}: no handshake ({error}); exit {(process.HasExited ? process.ExitCode : "-")}: {text}");
                    }
                }

                if (portTaken)
                {
                    Console.Error.WriteLine($"openssl s_server exited: port {port} was taken before it bound it (start {attempt} of {ServerUnderTest.MaxServeStarts}); starting it again on a new port");
                    continue;
                }

                await RunPhaseAsync("warm-up", 1, warmup, process.Id, () => HandshakeAsync(endPoint, psk));
                ScalePhase phase = await RunPhaseAsync("handshake-psk-openssl-s_server", 1, duration, process.Id, () => HandshakeAsync(endPoint, psk));
                return phase with { Command = commandLine };
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }

                await process.WaitForExitAsync();
            }
        }
    }

    internal static async Task<(bool Ok, string? Error)> EnrollAsync(IPEndPoint coaps, DtlsClientOptions device, bool uniqueNames, IPAddress? source = null)
    {
        // A new device asks for a name of its own; "same" re-enrolls CN=demo-device-1 every time, like sen-cost.
        string? subject = uniqueNames ? $"CN=bench-device-{Interlocked.Increment(ref s_device)}" : null;
        EnrollmentResult result = await EnrollmentProbe.EnrollAsync(coaps, device, subject: subject, source: source);
        return (result.Issued, result.Issued ? null : Trim(result.Detail));
    }

    /// <summary>A new device's enrollment: its handshake with its own certificate, then /sen for CN=bench-dev-N.</summary>
    private static async Task<(bool Ok, string? Error)> EnrollFreshAsync(IPEndPoint coaps, FreshDevices devices, IPAddress? source)
    {
        using FreshDevice device = await devices.TakeAsync(CancellationToken.None);
        EnrollmentResult result = await EnrollmentProbe.EnrollAsync(coaps, device.Options, subject: device.Subject, source: source);
        return (result.Issued, result.Issued ? null : Trim(result.Detail));
    }

    /// <summary>A new device's ECDHE_ECDSA handshake with its own certificate, then close_notify.</summary>
    private static async Task<(bool Ok, string? Error)> HandshakeFreshAsync(IPEndPoint coaps, FreshDevices devices, IPAddress? source)
    {
        using FreshDevice device = await devices.TakeAsync(CancellationToken.None);
        return await HandshakeAsync(coaps, device.Options, TimeSpan.FromSeconds(60), source);
    }

    private static Task<(bool Ok, string? Error)> HandshakeAsync(IPEndPoint coaps, DtlsClientOptions options) =>
        HandshakeAsync(coaps, options, TimeSpan.FromSeconds(60));

    private static async Task<(bool Ok, string? Error)> HandshakeAsync(IPEndPoint endPoint, DtlsClientOptions options, TimeSpan limit, IPAddress? source = null)
    {
        using var cancel = new CancellationTokenSource(limit);
        try
        {
            DtlsClientChannel channel = await EnrollmentProbe.ConnectAsync(endPoint, options, source, cancel.Token);
            await channel.DisposeAsync();
            return (true, null);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return (false, Trim($"{ex.GetType().Name}: {ex.Message}"));
        }
    }

    /// <summary>
    /// serve's <c>dtls.handshakes.refused</c> counters by their <c>bound</c> tag, from its Prometheus text: cookie-verified ClientHellos
    /// it dropped because a bound on handshakes or sessions in progress was reached (README, "Resource limits under load").
    /// </summary>
    internal static async Task<Dictionary<string, long>> RefusedHandshakesAsync(HttpClient client, Uri metrics)
    {
        string text = await client.GetStringAsync(metrics);
        return ParseRefusedHandshakes(text);
    }

    internal static Dictionary<string, long> ParseRefusedHandshakes(string prometheusText)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in prometheusText.Split('\n'))
        {
            if (!line.StartsWith("dtls_handshakes_refused", StringComparison.Ordinal))
            {
                continue;
            }

            // name{label="value",…} VALUE [TIMESTAMP]
            int labels = line.IndexOf("bound=\"", StringComparison.Ordinal);
            int close = line.LastIndexOf('}');
            if (labels < 0 || close < labels)
            {
                continue;
            }

            string[] rest = line[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (rest.Length == 0 || !double.TryParse(rest[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                continue;
            }

            int start = labels + "bound=\"".Length;
            string bound = line[start..line.IndexOf('"', start)];
            counts[bound] = counts.GetValueOrDefault(bound) + (long)value;
        }

        return counts;
    }

    private static string Trim(string text) => text.Length <= 160 ? text : text[..160];

    private static string DescribeKeys(string dataDirectory, X509Certificate2 device)
    {
        static string FileKey(string path)
        {
            using X509Certificate2 certificate = X509Certificate2.CreateFromPem(File.ReadAllText(path));
            return Key(certificate);
        }

        static string Key(X509Certificate2 certificate)
        {
            if (certificate.GetECDsaPublicKey() is { } ec)
            {
                using (ec)
                {
                    return $"ECDSA {ec.ExportParameters(false).Curve.Oid.FriendlyName} ({ec.KeySize} bit)";
                }
            }

            return certificate.GetRSAPublicKey() is { } rsa ? $"RSA {rsa.KeySize}" : certificate.PublicKey.Oid.FriendlyName ?? certificate.PublicKey.Oid.Value ?? "?";
        }

        return $"issuing CA {FileKey(Path.Combine(dataDirectory, "ca", "issuing.pem"))}, server {FileKey(Path.Combine(dataDirectory, "server.pem"))}, " +
            $"device {Key(device)}";
    }

    /// <summary>Moves every thread of process <paramref name="pid"/> to <paramref name="cpus"/> (<c>taskset -a -p -c</c>).</summary>
    private static async Task PinAsync(int pid, string cpus)
    {
        var info = new ProcessStartInfo("taskset") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["-a", "-p", "-c", cpus, pid.ToString(CultureInfo.InvariantCulture)])
        {
            info.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start taskset");
        string error = await process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"taskset -a -p -c {cpus} {pid} failed ({process.ExitCode}): {error}");
        }
    }

    /// <summary>
    /// Target 4 with serve on cores of its own: its handshakes/s against the bound's handshake share on one core (1 / its
    /// single-thread CPU time), valid only when serve kept its core busy.
    /// </summary>
    internal static string PinnedVerdict(ScalePhase phase, BoundResult bound)
    {
        double oneCore = 1e6 / bound.HandshakeCpuUs;
        string limit = phase.ServerCpuShare >= 0.9 ? "serve saturated its core: the rate is serve's"
            : phase.ClientCpuShare >= 0.9 ? "the CLIENT filled its core, serve did not: the rate is the client's, not serve's"
            : "neither filled its core (waits, or other load on these cores): not a measure of serve's capacity";
        return string.Create(CultureInfo.InvariantCulture,
            $"  pinned ECDHE: {phase.PerSecond:F1}/s = {phase.PerSecond / oneCore:P0} of the bound's handshake share on one core ({oneCore:F0}/s); " +
            $"serve {phase.ServerCpuShare:F2} cores, client {phase.ClientCpuShare:F2} cores; {limit}");
    }

    private static void PrintBound(BoundResult bound)
    {
        foreach (OperationTiming t in bound.Operations)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    {t.Name,-13} 1 thread: {t.WallUs,7:F1} µs wall, {t.CpuUs,7:F1} µs CPU ({t.SingleThreadCount} ops); {t.Cores} threads: {t.AllCoresPerSecond,8:F0} ops/s"));
        }

        foreach (OperationTiming t in bound.NotInBound)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    {t.Name,-13} 1 thread: {t.WallUs,7:F1} µs wall, {t.CpuUs,7:F1} µs CPU ({t.SingleThreadCount} ops); {t.Cores} threads: {t.AllCoresPerSecond,8:F0} ops/s  (not in the bound)"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"    bound: enrollment {bound.EnrollmentCpuUs:F0} µs CPU, {bound.EnrollmentsPerSecond:F0}/s on all cores; handshake share {bound.HandshakeCpuUs:F0} µs CPU, {bound.HandshakesPerSecond:F0}/s"));
    }

    internal static void Print(ScalePhase p, double? boundCpuUs, double? boundPerSecond)
    {
        string ratios = boundCpuUs is { } cpu && boundPerSecond is { } rate
            ? string.Create(CultureInfo.InvariantCulture, $"; server CPU/bound {p.ServerCpuUsPerOperation / cpu:F2}×, rate/bound {p.PerSecond / rate:P0}")
            : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {p.Phase} ×{p.Concurrency} (load {p.LoadAverage.Split(' ')[0]}): {p.PerSecond:F1}/s, {p.Completed} ok, {p.Failures} failed; p50/p90/p99/max " +
            $"{p.P50Ms:F1}/{p.P90Ms:F1}/{p.P99Ms:F1}/{p.MaxMs:F0} ms; server CPU {p.ServerCpuUsPerOperation:F0} µs/op ({p.ServerCpuShare:F2} cores), client {p.ClientCpuUsPerOperation:F0} µs/op ({p.ClientCpuShare:F2} cores){ratios}"));
        if (p.DeviceCertificateWaits is { } waits)
        {
            Console.WriteLine($"    {waits} operation(s) waited for a device certificate (the producer's queue was empty)");
        }

        if (p.HandshakesRefused is { } refused)
        {
            Console.WriteLine(refused.Count == 0 ? "    serve refused no handshake (dtls.handshakes.refused)"
                : $"    serve refused handshakes (dtls.handshakes.refused; the client's retransmission waits 1, 2, 4… s): {string.Join(", ", refused.Select(r => $"{r.Value} at bound {r.Key}"))}");
        }

        foreach ((string error, int count) in p.Errors.OrderByDescending(e => e.Value).Take(3))
        {
            Console.WriteLine($"    {count} × {error}");
        }
    }

    private static void PrintSummary(EnrollScaleReport report)
    {
        BoundResult b = report.Bound!;
        Console.WriteLine();
        Console.WriteLine($"Load average {report.LoadAverageBefore} -> {report.LoadAverageAfter}; {report.Cores} CPUs. Bound: enrollment {b.EnrollmentCpuUs:F0} µs CPU, " +
            $"{b.EnrollmentsPerSecond:F0}/s; handshake share {b.HandshakeCpuUs:F0} µs CPU, {b.HandshakesPerSecond:F0}/s ({b.ChainCertificates} device certificate(s) verified).");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Not in the bound: {string.Join(", ", b.NotInBound.Select(t => $"{t.Name} {t.CpuUs:F0} µs CPU"))}."));
        Console.WriteLine($"Devices: {report.Devices}. serve: {report.ServeOptions}.");
        if (report.DeviceCertificateWaits is { } waits)
        {
            Console.WriteLine($"Device certificates: {report.DeviceCertificatesIssued} made, {waits} operation(s) waited for one.");
        }
        Console.WriteLine();
        Console.WriteLine("| phase | concurrency | per s | p50 / p90 / p99 / max ms | failures | server CPU µs/op | server CPU / bound CPU | per s / bound per s |");
        Console.WriteLine("|---|---:|---:|---|---:|---:|---:|---:|");
        foreach (ScalePhase p in report.Enrollments.Concat(report.Handshakes))
        {
            (double cpu, double rate)? bound = p.Phase == "enroll" ? (b.EnrollmentCpuUs, b.EnrollmentsPerSecond)
                : p.Phase == "handshake-ecdhe-ecdsa" ? (b.HandshakeCpuUs, b.HandshakesPerSecond) : null;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {p.Phase} | {p.Concurrency} | {p.PerSecond:F1} | {p.P50Ms:F1} / {p.P90Ms:F1} / {p.P99Ms:F1} / {p.MaxMs:F0} | {p.Failures} | {p.ServerCpuUsPerOperation:F0} | " +
                $"{(bound is { } x ? (p.ServerCpuUsPerOperation / x.cpu).ToString("F2", CultureInfo.InvariantCulture) + "×" : "")} | " +
                $"{(bound is { } y ? (p.PerSecond / y.rate).ToString("P0", CultureInfo.InvariantCulture) : "")} |"));
        }

        Console.WriteLine();
        Console.WriteLine("| phase | concurrency | serve cores | client cores | client CPU µs/op |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (ScalePhase p in report.Enrollments.Concat(report.Handshakes))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {p.Phase} | {p.Concurrency} | {p.ServerCpuShare:F2} | {p.ClientCpuShare:F2} | {p.ClientCpuUsPerOperation:F0} |"));
        }

        if (report.ClientCacheRounds.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("Client CPU per ECDHE handshake, client chain cache on / off, paired by round: " + string.Join(", ",
                report.ClientCacheRounds.Chunk(2).Where(pair => pair.Length == 2).Select(pair =>
                {
                    ScalePhase on = pair.Single(x => x.Phase.EndsWith("-client-cache", StringComparison.Ordinal));
                    ScalePhase off = pair.Single(x => x.Phase.EndsWith("-client-no-cache", StringComparison.Ordinal));
                    return string.Create(CultureInfo.InvariantCulture,
                        $"{on.ClientCpuUsPerOperation:F0}/{off.ClientCpuUsPerOperation:F0} µs = {on.ClientCpuUsPerOperation / off.ClientCpuUsPerOperation:F3}");
                })));
        }

        if (report.Pin is not null && report.Handshakes.FirstOrDefault(h => h.Phase == "handshake-ecdhe-ecdsa") is { } ecdhe)
        {
            Console.WriteLine();
            Console.WriteLine($"Pinned ({report.Pin}):");
            Console.WriteLine(PinnedVerdict(ecdhe, b));
        }
    }

    /// <summary>The chart: enrollments/s and p99 against concurrency, handshakes/s against the bound, serve vs libcoap (if given).</summary>
    internal static string Chart(EnrollScaleReport report)
    {
        string[] levels = [.. report.Enrollments.Select(e => e.Concurrency.ToString(CultureInfo.InvariantCulture))];
        var panels = new List<ChartPanel>
        {
            new($"EST enrollments/s ({ChartDevices(report.Devices)})", "concurrent devices", "enrollments/s", levels,
                [new ChartSeries("enrollments/s", [.. report.Enrollments.Select(e => e.PerSecond)])],
                report.Bound is { } b ? new ChartSeries.Line("crypto bound", b.EnrollmentsPerSecond) : null),
            new("Enrollment latency p99", "concurrent devices", "ms", levels,
                [new ChartSeries("p99 ms", [.. report.Enrollments.Select(e => e.P99Ms)]), new ChartSeries("p50 ms", [.. report.Enrollments.Select(e => e.P50Ms)])]),
            new("Handshakes/s", "", "handshakes/s",
                [.. report.Handshakes.Select(h => $"{ShortName(h.Phase)} ×{h.Concurrency}")],
                [new ChartSeries("handshakes/s", [.. report.Handshakes.Select(h => h.PerSecond)])],
                report.Bound is { } hb ? new ChartSeries.Line("ECDHE bound", hb.HandshakesPerSecond) : null),
        };
        if (report.ServeLoad is { Count: > 0 } load)
        {
            string[] scenarios = [.. load.Select(s => s.Scenario).Distinct()];
            string[] servers = [.. load.Select(s => s.Server).Distinct()];
            panels.Add(new ChartPanel("Requests/s, serve-load (median of rounds)", "scenario", "requests/s", scenarios,
                [.. servers.Select(server => new ChartSeries(server,
                    [.. scenarios.Select(sc => load.FirstOrDefault(s => s.Scenario == sc && s.Server == server)?.RequestsPerSecond ?? double.NaN)]))]));
        }

        return SvgChart.Render($"coapenroll enroll-scale, {report.Cores} CPUs, load average {report.LoadAverageBefore.Split(' ')[0]}", panels);
    }

    /// <summary>The device mode in a few words; runs from before <c>--devices</c> had the demo device.</summary>
    private static string ChartDevices(string devices) =>
        devices.StartsWith("fresh", StringComparison.Ordinal) ? "new device each, serve's shipped defaults" : "one known device";

    private static string ShortName(string phase) => phase switch
    {
        "handshake-ecdhe-ecdsa" => "ECDHE",
        "handshake-psk" => "PSK",
        "handshake-psk-openssl-s_server" => "PSK s_server",
        _ => phase,
    };

    /// <summary>serve-load's JSON (a list of runs): the median requests/s over the rounds of each scenario and server.</summary>
    internal static List<ScenarioSummary> ReadServeLoad(string path)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        var runs = new List<(string Scenario, string Server, double Rate)>();
        foreach (JsonElement run in document.RootElement.EnumerateArray())
        {
            if (run.TryGetProperty("Load", out JsonElement loadElement) && loadElement.ValueKind == JsonValueKind.Object)
            {
                runs.Add((run.GetProperty("Scenario").GetString()!, run.GetProperty("Server").GetString()!, loadElement.GetProperty("RequestsPerSecond").GetDouble()));
            }
        }

        if (runs.Count == 0)
        {
            throw new InvalidOperationException("no runs with a Load in it");
        }

        return [.. runs.GroupBy(r => (r.Scenario, r.Server)).Select(g => new ScenarioSummary(g.Key.Scenario, g.Key.Server, g.Count(), Median([.. g.Select(r => r.Rate)])))];
    }

    internal static double Percentile(List<double> sorted, double fraction) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Count) - 1, 0, sorted.Count - 1)];

    internal static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    internal static string LoadAverage()
    {
        string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"{fields[0]} {fields[1]} {fields[2]}";
    }

    private static double Double(Dictionary<string, string> options, string name, double fallback) =>
        options.TryGetValue(name, out string? value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>One phase: a scenario at one concurrency against one server.</summary>
    internal sealed record ScalePhase
    {
        public required string Phase { get; init; }

        public string? Command { get; init; }

        public int Concurrency { get; init; }

        public string LoadAverage { get; init; } = "";

        public double WallSeconds { get; init; }

        public int Completed { get; init; }

        public int Failures { get; init; }

        public Dictionary<string, int> Errors { get; init; } = [];

        public double PerSecond { get; init; }

        public double P50Ms { get; init; }

        public double P90Ms { get; init; }

        public double P99Ms { get; init; }

        public double MaxMs { get; init; }

        /// <summary>Server utime + stime over the phase divided by the completed operations.</summary>
        public double ServerCpuUsPerOperation { get; init; }

        /// <summary>The load generator's (this process's) CPU per completed operation.</summary>
        public double ClientCpuUsPerOperation { get; init; }

        /// <summary>Server CPU seconds per wall second: how many cores it kept busy.</summary>
        public double ServerCpuShare { get; init; }

        /// <summary>The load generator's CPU seconds per wall second.</summary>
        public double ClientCpuShare { get; init; }

        /// <summary>Operations of the phase that waited for a new device certificate (<c>--devices fresh</c>); null otherwise.</summary>
        public long? DeviceCertificateWaits { get; init; }

        /// <summary>ClientHellos serve dropped at one of its handshake bounds during the phase, by bound (its /metrics); null when not read.</summary>
        public Dictionary<string, long>? HandshakesRefused { get; init; }

        /// <summary>A separate database's (PostgreSQL's) utime + stime over the phase per completed operation; null when there is none.</summary>
        public double? DatabaseCpuUsPerOperation { get; init; }

        /// <summary>The database's CPU seconds per wall second; null when there is none.</summary>
        public double? DatabaseCpuShare { get; init; }
    }
}
