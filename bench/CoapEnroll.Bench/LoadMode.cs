using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Est;
using CoapEnroll.Pkix;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>load --scenario S --devices N --concurrency C (--count K | --duration SEC) [--server URI [--server-pid PID] [--data DIR]]
/// [--manufacturer DIR] [--implicit-confirm true] [--json FILE] [--coapenroll DLL]</c>: the load generator's front end (issue 12). It
/// simulates N devices over loopback from this process, against <c>coapenroll serve</c> in another process: by default one it starts
/// with its shipped defaults in a fresh data directory on free ports (<see cref="ServerUnderTest"/>), or with
/// <c>--server coap://HOST:PORT</c> / <c>coaps://HOST:PORT</c> one that already runs (its CPU and memory are read from /proc when
/// <c>--server-pid</c> names it).
/// <para>The certificate scenarios' devices each have a certificate of their own from the bench's manufacturer CA
/// (<see cref="BenchManufacturer"/>, in <c>--manufacturer DIR</c>, by default a fresh temporary directory), which serve trusts through
/// its shipped <c>--trust-manufacturer DIR/manufacturer-ca.pem</c>; device N is <c>CN=bench-dev-N</c> and enrolls that name.</para>
/// <list type="bullet">
/// <item><c>coap-get</c>: N UDP sockets, CON GET <c>/test</c>, C requests in flight in total (⌈C/N⌉ per device), through
/// <see cref="LoadGroup"/> (RFC 7252 retransmission, counted).</item>
/// <item><c>coaps-get-psk</c>: the same over N established DTLS PSK sessions (<see cref="DtlsLoadTransport"/>).</item>
/// <item><c>coaps-get-cert</c>: the same over N established ECDHE_ECDSA sessions, each authenticated with its device's certificate.</item>
/// <item><c>handshake</c>: C workers each doing full DTLS PSK handshakes then close_notify, N sessions' worth of identities being
/// the one bench PSK.</item>
/// <item><c>handshake-cert</c>: C workers each doing full ECDHE_ECDSA handshakes with a client certificate (device i mod N) then
/// close_notify.</item>
/// <item><c>est-enroll</c>: C workers each doing what a new device does (<see cref="EnrollmentProbe.EnrollAsync"/>): handshake with
/// the device's manufacturer certificate, <c>/sen</c> for <c>CN=bench-dev-N</c> with a fresh P-256 key, close_notify. Every
/// enrollment is stored by serve. Its CoAP retransmissions are counted through <see cref="CoapRetransmissionCounter"/>.</item>
/// <item><c>est-reenroll</c>: each device first enrolls once as in est-enroll (untimed), then the workers re-enroll: handshake with
/// the device's issued certificate, <c>/sre</c> for its own name with a fresh P-256 key, close_notify.</item>
/// <item><c>cmp-ir</c>: C workers each doing one CMP ir after another over coap:// for device i mod N (<see cref="CmpLoadDevices"/>:
/// a shared secret per device registered with <c>coapenroll cmp secrets add</c> before the run, certConf unless
/// <c>--implicit-confirm true</c>).</item>
/// </list>
/// A progress line goes to stderr every second; the summary to stdout, and as JSON to <c>--json FILE</c>.
/// </summary>
internal static class LoadMode
{
    private static readonly string[] Scenarios =
        ["coap-get", "coaps-get-psk", "coaps-get-cert", "handshake", "handshake-cert", "est-enroll", "est-reenroll", "cmp-ir"];

    /// <summary>The scenarios whose devices authenticate with a certificate from <see cref="BenchManufacturer"/>.</summary>
    private static readonly string[] CertificateScenarios = ["coaps-get-cert", "handshake-cert", "est-enroll", "est-reenroll"];

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                return Usage($"'{args[i]}' is not an option with a value");
            }

            options[args[i][2..]] = args[++i];
        }

        string scenario = options.GetValueOrDefault("scenario") ?? "coap-get";
        if (!Scenarios.Contains(scenario))
        {
            return Usage($"unknown scenario '{scenario}'");
        }

        int devices;
        int concurrency;
        long? count;
        double? duration;
        try
        {
            devices = int.Parse(options.GetValueOrDefault("devices") ?? "16", CultureInfo.InvariantCulture);
            concurrency = int.Parse(options.GetValueOrDefault("concurrency") ?? devices.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            count = options.TryGetValue("count", out string? c) ? long.Parse(c, CultureInfo.InvariantCulture) : null;
            duration = options.TryGetValue("duration", out string? d) ? double.Parse(d, CultureInfo.InvariantCulture) : null;
        }
        catch (FormatException ex)
        {
            return Usage(ex.Message);
        }

        if (devices < 1 || concurrency < 1 || count is < 1 || duration is <= 0 || (count is null) == (duration is null))
        {
            return Usage("--devices and --concurrency must be at least 1, and exactly one of --count K (K >= 1) or --duration SEC (> 0) given");
        }

        bool implicitConfirm = options.GetValueOrDefault("implicit-confirm") is "true";
        bool certificates = CertificateScenarios.Contains(scenario);
        string dll = Path.GetFullPath(options.GetValueOrDefault("coapenroll") ?? ServeLoadMode.FindCoapEnrollDll());
        if ((options.GetValueOrDefault("server") is null || scenario == "cmp-ir") && !File.Exists(dll))
        {
            return Usage($"{dll} not found; build it first: dotnet build src/CoapEnroll.Cli -c Release");
        }

        string? manufacturerDirectory = options.GetValueOrDefault("manufacturer");
        string? temporary = certificates && manufacturerDirectory is null ? Directory.CreateTempSubdirectory("coapenroll-load-manufacturer-").FullName : null;
        bool created = false;
        using BenchManufacturer? manufacturer = certificates ? BenchManufacturer.LoadOrCreate(manufacturerDirectory ?? temporary!, out created) : null;
        ServerUnderTest? started = null;
        try
        {
            Target target;
            if (options.GetValueOrDefault("server") is { } server)
            {
                if (!Uri.TryCreate(server, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("coap" or "coaps") || uri.Port < 1)
                {
                    return Usage($"--server '{server}' is not coap://HOST:PORT or coaps://HOST:PORT");
                }

                bool wantsCoaps = scenario is not ("coap-get" or "cmp-ir");
                if ((uri.Scheme == "coaps") != wantsCoaps)
                {
                    return Usage($"scenario {scenario} needs a {(wantsCoaps ? "coaps" : "coap")}:// server");
                }

                IPAddress address = IPAddress.TryParse(uri.Host, out IPAddress? parsed) ? parsed : (await Dns.GetHostAddressesAsync(uri.Host))[0];
                int? pid = options.TryGetValue("server-pid", out string? p) ? int.Parse(p, CultureInfo.InvariantCulture) : null;
                string? data = options.GetValueOrDefault("data");
                if ((certificates || scenario == "cmp-ir") && data is null)
                {
                    return Usage($"{scenario} against --server needs --data DIR (the server's data directory: DIR/trust-anchor.pem, the store for CMP secrets)");
                }

                if (certificates && (manufacturerDirectory is null || created))
                {
                    return Usage($"{scenario} against --server needs --manufacturer DIR with a manufacturer the server trusts: " +
                        $"start serve with --trust-manufacturer {manufacturer!.CertificatePath} (just {(created ? "created" : "made in a temporary directory")})" +
                        (created ? " and run this again" : "; give --manufacturer DIR to keep it"));
                }

                target = new Target(new IPEndPoint(address, uri.Port), uri.AbsolutePath is "/" or "" ? "/test" : uri.AbsolutePath, pid, data, server);
            }
            else
            {
                started = await ServerUnderTest.StartServeAsync(dll, psk: scenario is "coaps-get-psk" or "handshake",
                    scenarioArguments: manufacturer is null ? null : ["--trust-manufacturer", manufacturer.CertificatePath]);
                target = new Target(scenario is "coap-get" or "cmp-ir" ? started.CoapEndPoint : started.CoapsEndPoint, started.Path, started.Pid,
                    started.DataDirectory, started.CommandLine);
            }

            LoadRun run;
            try
            {
                var context = new Context(scenario, target, manufacturer, dll, implicitConfirm);
                run = await RunAsync(context, devices, concurrency, count, duration);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The set-up (sessions, est-reenroll's first enrollments, cmp-ir's secrets) failed: no figures to report.
                Console.Error.WriteLine($"load: {scenario} could not start: {ex.GetType().Name}: {ex.Message}");
                return 1;
            }

            Print(run);
            if (options.GetValueOrDefault("json") is { } json)
            {
                await File.WriteAllTextAsync(json, JsonSerializer.Serialize(run, JsonOptions));
                Console.WriteLine($"JSON written to {json}");
            }

            return run.Failures == 0 && run.Operations > 0 ? 0 : 1;
        }
        finally
        {
            if (started is not null)
            {
                await started.DisposeAsync();
            }

            if (temporary is not null)
            {
                Directory.Delete(temporary, recursive: true);
            }
        }
    }

    private static async Task<LoadRun> RunAsync(Context context, int devices, int concurrency, long? count, double? duration)
    {
        string loadBefore = LoadAverage();
        ServerMonitor? monitor = null;
        // The server is watched from the start of the timed window: the set-up (sessions, first enrollments) is not in its figures.
        void StartTimed()
        {
            if (context.Target.Pid is { } pid)
            {
                monitor = ServerMonitor.Start(pid, context.Target.EndPoint.Port);
            }
        }

        var progress = new Progress();
        var clock = Stopwatch.StartNew();
        LoadRun run = context.Scenario is "coap-get" or "coaps-get-psk" or "coaps-get-cert"
            ? await RunGetsAsync(context, devices, concurrency, count, duration, progress, clock, StartTimed)
            : await RunOperationsAsync(context, devices, concurrency, count, duration, progress, clock, StartTimed);
        if (monitor is not null)
        {
            await monitor.StopAsync();
            run = run with
            {
                ServerCpuSeconds = monitor.Cpu.TotalSeconds,
                ServerCpuMsPerOperation = run.Operations == 0 ? 0 : monitor.Cpu.TotalMilliseconds / run.Operations,
                ServerRssPeakMb = Math.Round(monitor.RssPeak / (1024.0 * 1024.0), 1),
            };
        }

        return run with { Server = context.Target.Description, LoadAverageBefore = loadBefore, LoadAverageAfter = LoadAverage() };
    }

    /// <summary>coap-get, coaps-get-psk and coaps-get-cert: <see cref="LoadGroup"/> over one transport per device.</summary>
    private static async Task<LoadRun> RunGetsAsync(Context context, int devices, int concurrency, long? count, double? duration,
        Progress progress, Stopwatch clock, Action startTimed)
    {
        string scenario = context.Scenario;
        Target target = context.Target;
        DtlsClientOptions[] credentials = scenario == "coaps-get-cert" ? await DeviceCredentialsAsync(context, devices) : [];
        var transports = new List<ILoadTransport>();
        try
        {
            for (int i = 0; i < devices; i++)
            {
                if (scenario == "coap-get")
                {
                    transports.Add(new UdpLoadTransport(target.EndPoint));
                }
                else
                {
                    using var connect = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                    transports.Add(scenario == "coaps-get-cert"
                        ? await DtlsLoadTransport.ConnectAsync(target.EndPoint, credentials[i], connect.Token)
                        : await DtlsLoadTransport.ConnectAsync(target.EndPoint, ServerUnderTest.PskIdentity, ServerUnderTest.PskKey, connect.Token));
                }
            }

            int inFlight = (concurrency + devices - 1) / devices;
            var group = new LoadGroup(transports, target.Path, inFlight, new LoadParameters(), long.MaxValue);
            startTimed();
            clock.Restart();
            long deadline = Deadline(duration);
            group.Start();
            // Polled every 10 ms so that --count stops issuing close to K (the requests in flight then still complete).
            double nextReport = 1;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10));
                long answered = group.Clients.Sum(c => Volatile.Read(ref c.Counts.AnsweredInWindow));
                long failed = group.Clients.Sum(c => Volatile.Read(ref c.Counts.Failed));
                if (answered + failed >= count)
                {
                    break;
                }

                if (clock.Elapsed.TotalSeconds >= nextReport)
                {
                    progress.Report(clock, answered, failed);
                    nextReport += 1;
                }
            }

            group.StopIssuing();
            double seconds = clock.Elapsed.TotalSeconds;
            int unfinished = await group.StopAsync(TimeSpan.FromSeconds(60));
            LoadSummary summary = LoadSummary.From(group, unfinished, seconds);
            var failures = new SortedDictionary<string, long>(StringComparer.Ordinal);
            Add(failures, "timeout", summary.Failed);
            Add(failures, "reset", summary.Resets);
            Add(failures, "unfinished", summary.Unfinished);
            foreach (var (code, n) in summary.Codes.Where(c => c.Key != "2.05"))
            {
                Add(failures, "CoAP " + code, n);
            }

            return new LoadRun
            {
                Scenario = scenario,
                Devices = devices,
                Concurrency = inFlight * devices,
                Operations = summary.Ok,
                Seconds = seconds,
                OperationsPerSecond = summary.Ok / seconds,
                P50Ms = summary.P50Ms,
                P90Ms = summary.P90Ms,
                P99Ms = summary.P99Ms,
                MaxMs = summary.MaxMs,
                Failures = failures.Values.Sum(),
                FailuresByKind = failures,
                Retransmissions = summary.Retransmissions,
            };
        }
        finally
        {
            foreach (ILoadTransport transport in transports)
            {
                await transport.DisposeAsync();
            }
        }
    }

    /// <summary>handshake, handshake-cert, est-enroll, est-reenroll and cmp-ir: C workers, each running one whole operation after another.</summary>
    private static async Task<LoadRun> RunOperationsAsync(Context context, int devices, int concurrency, long? count, double? duration,
        Progress progress, Stopwatch clock, Action startTimed)
    {
        string scenario = context.Scenario;
        IPEndPoint endPoint = context.Target.EndPoint;
        DtlsClientOptions[] credentials = context.Manufacturer is null ? [] : await DeviceCredentialsAsync(context, devices);
        Device[] enrolled = scenario == "est-reenroll" ? await EnrollDevicesAsync(endPoint, credentials) : [];
        await using CmpLoadDevices? cmp = scenario == "cmp-ir"
            ? await CmpLoadDevices.CreateAsync(context.CoapEnrollDll, context.Target.DataDirectory!, endPoint, devices, context.ImplicitConfirm)
            : null;
        using CoapRetransmissionCounter? retransmissions = scenario is "est-enroll" or "est-reenroll" or "cmp-ir" ? new CoapRetransmissionCounter() : null;
        var latencies = new List<double>();
        var failures = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long issued = 0;
        long done = 0;
        long failed = 0;
        using var stop = new CancellationTokenSource();
        startTimed();
        clock.Restart();
        long deadline = Deadline(duration);
        Task progressLoop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    progress.Report(clock, Interlocked.Read(ref done), Interlocked.Read(ref failed));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            long index;
            while (Stopwatch.GetTimestamp() < deadline && (index = Interlocked.Increment(ref issued)) <= (count ?? long.MaxValue))
            {
                int device = (int)(index % devices);
                long start = Stopwatch.GetTimestamp();
                string? error = scenario switch
                {
                    "est-reenroll" => await ReenrollAsync(endPoint, enrolled[device]),
                    "cmp-ir" => await cmp!.EnrollAsync(device),
                    "est-enroll" => await EnrollAsync(endPoint, credentials[device], device),
                    "handshake-cert" => await HandshakeAsync(endPoint, credentials[device]),
                    _ => await HandshakeAsync(endPoint, null),
                };
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                lock (latencies)
                {
                    if (error is null)
                    {
                        latencies.Add(ms);
                    }
                    else
                    {
                        Add(failures, error, 1);
                    }
                }

                Interlocked.Increment(ref error is null ? ref done : ref failed);
            }
        })));
        double seconds = clock.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await progressLoop;
        latencies.Sort();
        return new LoadRun
        {
            Scenario = scenario,
            Devices = devices,
            Concurrency = concurrency,
            Operations = latencies.Count,
            Seconds = seconds,
            OperationsPerSecond = latencies.Count / seconds,
            P50Ms = Percentile(latencies, 0.50),
            P90Ms = Percentile(latencies, 0.90),
            P99Ms = Percentile(latencies, 0.99),
            MaxMs = latencies.Count == 0 ? 0 : latencies[^1],
            Failures = failed,
            FailuresByKind = failures,
            Retransmissions = retransmissions?.Count,
        };
    }

    /// <summary>
    /// A certificate of its own for each of <paramref name="devices"/> devices, from the bench's manufacturer, trusting serve's
    /// DIR/trust-anchor.pem for the server.
    /// </summary>
    private static async Task<DtlsClientOptions[]> DeviceCredentialsAsync(Context context, int devices)
    {
        var trust = await PemCredentialFiles.LoadCertificatesAsync(Path.Combine(context.Target.DataDirectory!, "trust-anchor.pem"), CancellationToken.None);
        DtlsClientOptions[] credentials = context.Manufacturer!.DeviceOptions(devices, [.. trust]);
        await CheckCertificateTrustedAsync(context.Target.EndPoint, credentials[0]);
        return credentials;
    }

    /// <summary>
    /// Asks serve's <c>/whoami</c> how it saw device 0: serve completes handshakes with certificates it cannot validate too (EST then
    /// answers 4.03), so a manufacturer serve does not trust would go unnoticed in handshake-cert and coaps-get-cert.
    /// </summary>
    private static async Task CheckCertificateTrustedAsync(IPEndPoint endPoint, DtlsClientOptions credential)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(endPoint, credential, limit.Token);
        await using var client = new CoapClient(channel);
        CoapMessage answer = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/whoami"), channel.RemoteEndPoint, limit.Token);
        string text = answer.PayloadText;
        if (answer.Code == CoapCode.NotFound)
        {
            Console.Error.WriteLine("load: serve has no /whoami (Coap:DiagnosticResources=false): not checked that it validates the device certificates");
            return;
        }

        if (answer.Code != CoapCode.Content || !text.Contains("authentication: certificate\n", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"serve does not validate the bench's device certificates (does it trust the manufacturer?): /whoami {answer.Code}: {text.Trim()}");
        }

        string suite = text.Split('\n').FirstOrDefault(l => l.StartsWith("cipher-suite: ", StringComparison.Ordinal)) ?? "cipher-suite: ?";
        Console.Error.WriteLine($"load: serve validates the device certificates ({suite})");
    }

    /// <summary>One est-enroll: device <paramref name="device"/>'s handshake and /sen for its own name; null on success, else the EST failure's first words.</summary>
    private static async Task<string?> EnrollAsync(IPEndPoint endPoint, DtlsClientOptions credential, int device)
    {
        EnrollmentResult result = await EnrollmentProbe.EnrollAsync(endPoint, credential, subject: "CN=" + BenchManufacturer.DeviceName(device));
        return result.Issued ? null : result.Detail.Split(':')[0];
    }

    /// <summary>One full handshake then close_notify: PSK when <paramref name="credential"/> is null, else ECDHE_ECDSA with its certificate.</summary>
    private static async Task<string?> HandshakeAsync(IPEndPoint endPoint, DtlsClientOptions? credential)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await using DtlsLoadTransport session = credential is null
                ? await DtlsLoadTransport.ConnectAsync(endPoint, ServerUnderTest.PskIdentity, ServerUnderTest.PskKey, limit.Token)
                : await DtlsLoadTransport.ConnectAsync(endPoint, credential, limit.Token);
            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return ex.GetType().Name;
        }
    }

    /// <summary>
    /// One re-enrollment of <paramref name="device"/>: handshake with the certificate serve last issued to it, /sre for the same name
    /// with a fresh key, close_notify. The renewed certificate replaces the old one (serve re-enrolls a certificate once), so the
    /// device is held by one worker at a time.
    /// </summary>
    private static async Task<string?> ReenrollAsync(IPEndPoint endPoint, Device device)
    {
        await device.Busy.WaitAsync();
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await using var est = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(endPoint, device.Options, limit.Token));
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            X509Certificate2 renewed = await est.ReenrollAsync(device.Options.ClientCertificate!.SubjectName, key, cancellationToken: limit.Token);
            device.Options.ClientCertificate = renewed;
            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return ex.GetType().Name;
        }
        finally
        {
            device.Busy.Release();
        }
    }

    /// <summary>
    /// est-reenroll's untimed set-up: each device enrolls once as a new device (its manufacturer certificate, /sen for its own name
    /// with a fresh key) and keeps the issued certificate, its key and serve's CA certificates (/crts) as its DTLS client credential.
    /// </summary>
    private static async Task<Device[]> EnrollDevicesAsync(IPEndPoint endPoint, DtlsClientOptions[] credentials)
    {
        var enrolled = new Device[credentials.Length];
        for (int d = 0; d < credentials.Length; d++)
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await using var est = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(endPoint, credentials[d], limit.Token));
            // The issued certificate comes back with the key attached; both live as long as the run.
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            X509Certificate2 issued = await est.EnrollAsync(new X500DistinguishedName("CN=" + BenchManufacturer.DeviceName(d)), key, cancellationToken: limit.Token);
            var options = new DtlsClientOptions { ClientCertificate = issued };
            options.ServerCertificateTrustAnchors.AddRange(credentials[d].ServerCertificateTrustAnchors);
            options.ClientCertificateChain.AddRange(await est.GetCaCertificatesAsync(cancellationToken: limit.Token));
            enrolled[d] = new Device(options);
        }

        return enrolled;
    }

    private static void Print(LoadRun r)
    {
        string retransmissions = r.Retransmissions is { } n ? n.ToString(CultureInfo.InvariantCulture) : "not counted (DTLS handshake messages are not CoAP)";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            load {r.Scenario}: {r.Devices} devices, {r.Concurrency} concurrent, against {r.Server}
              {r.Operations} operations in {r.Seconds:F1} s = {r.OperationsPerSecond:F1} ops/s
              latency p50 {r.P50Ms:F2} p90 {r.P90Ms:F2} p99 {r.P99Ms:F2} max {r.MaxMs:F1} ms
              failures {r.Failures}{(r.FailuresByKind.Count == 0 ? "" : " (" + string.Join(", ", r.FailuresByKind.Select(f => $"{f.Key}: {f.Value}")) + ")")}; retransmissions {retransmissions}
              server CPU {(r.ServerCpuSeconds is { } cpu ? $"{cpu:F2} s = {r.ServerCpuMsPerOperation:F3} ms/operation, peak RSS {r.ServerRssPeakMb:F1} MB" : "not measured (no --server-pid)")}
              load average {r.LoadAverageBefore} -> {r.LoadAverageAfter}
            """));
    }

    /// <summary>The end of the --duration window, which starts when the set-up (sessions, est-reenroll's enrollments) is done.</summary>
    private static long Deadline(double? duration) =>
        duration is { } seconds ? Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency) : long.MaxValue;

    private static void Add(SortedDictionary<string, long> counts, string kind, long n)
    {
        if (n > 0)
        {
            counts[kind] = counts.GetValueOrDefault(kind) + n;
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

    private static string LoadAverage()
    {
        string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"{fields[0]} {fields[1]} {fields[2]}";
    }

    private static int Usage(string problem)
    {
        Console.Error.WriteLine($"load: {problem}");
        Console.Error.WriteLine($"usage: load --scenario {string.Join('|', Scenarios)} --devices N --concurrency C (--count K | --duration SEC) " +
            "[--server coap(s)://HOST:PORT [--server-pid PID] [--data DIR]] [--manufacturer DIR] [--implicit-confirm true] [--json FILE] [--coapenroll DLL]");
        return 2;
    }

    /// <summary>An est-reenroll device: its DTLS credential (the certificate serve last issued to it), used by one worker at a time.</summary>
    private sealed class Device(DtlsClientOptions options)
    {
        public DtlsClientOptions Options { get; } = options;

        public SemaphoreSlim Busy { get; } = new(1, 1);
    }

    private sealed record Target(IPEndPoint EndPoint, string Path, int? Pid, string? DataDirectory, string Description);

    /// <summary>What a run needs besides its sizes: the scenario, the server, the manufacturer (certificate scenarios), the CLI (cmp-ir).</summary>
    private sealed record Context(string Scenario, Target Target, BenchManufacturer? Manufacturer, string CoapEnrollDll, bool ImplicitConfirm);

    /// <summary>The stderr progress line: operations done, the rate over the last second, failures.</summary>
    private sealed class Progress
    {
        private long _lastDone;
        private double _lastSeconds;

        public void Report(Stopwatch clock, long done, long failed)
        {
            double seconds = clock.Elapsed.TotalSeconds;
            double rate = (done - _lastDone) / Math.Max(1e-3, seconds - _lastSeconds);
            (_lastDone, _lastSeconds) = (done, seconds);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {seconds,6:F1} s  {done,9} ops  {rate,9:F1} ops/s  {failed} failed"));
        }
    }
}
