using System.Diagnostics;
using System.Formats.Asn1;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using CoapEnroll.Cmp;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Est;
using CoapEnroll.Transport;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>cmp-ir [options]</c>: CMP ir (MAC-protected with serve's demo reference, implicitConfirm) per second over CoAP and over HTTP,
/// with the server's CPU per operation, next to EST-coaps <c>/sen</c> against the same <c>coapenroll serve</c> process in the same run.
/// <para>serve runs with its shipped defaults on 127.0.0.1 and free ports (<c>--http-port 0</c> for CMP over HTTP), a fresh data
/// directory, and the bench's allocation probe as a startup hook (as in sen-cost). Each phase has D simulated devices (concurrent
/// workers) that share C operations:</para>
/// <list type="bullet">
/// <item><c>cmp-coap</c>: one <see cref="CoapClient"/> (own UDP socket, default CoAP parameters) per device, CON POST
/// <c>/.well-known/cmp</c>, Content-Format 259; the answer must be 2.04.</item>
/// <item><c>cmp-http</c>: one <see cref="HttpClient"/> with a pooled <see cref="SocketsHttpHandler"/> for all devices (one keep-alive
/// connection per device), POST <c>/.well-known/cmp</c>, <c>application/pkixcmp</c>; the answer must be 200.</item>
/// <item><c>est-sen</c>: one DTLS session per device (the demo device's certificate, opened before the phase), <c>/sen</c> on it.</item>
/// <item><c>est-enroll</c>: what a device does: handshake, <c>/sen</c>, close_notify (<see cref="EnrollmentProbe"/>).</item>
/// </list>
/// Every CMP request is built before its phase (outside the timed loop: on 2 cores the client's CPU competes with the server's):
/// a fresh P-256 key, CertRequest with the signature POP, header with a fresh transactionID and senderNonce, senderKID "demo" and
/// implicitConfirm, PasswordBasedMac (SHA-256, HMAC-SHA256, <c>--iterations</c>). Each answer must be an ip, status accepted, with a
/// certificate and implicitConfirm granted; after the phase every answer's MAC is verified with the demo secret (outside the timed
/// loop too). EST CSRs (<c>est-sen</c>) are also made before the phase, on the session they are sent on (POP linking); est-enroll's
/// keys are made before the phase, its CSRs inside (they need the new session). Server CPU per operation is utime + stime of serve
/// from <c>/proc/PID/stat</c> over the phase (10 ms ticks) plus 200 ms after the last answer; allocations and JIT counts come from the
/// startup hook.
/// Options: <c>--devices D</c> (4; serve's Cmp:MaxOpenTransactionsPerRequester is 16 for the one "demo" reference), <c>--count C</c>
/// (200 per phase), <c>--rounds R</c> (3; the order of the transports rotates every round), <c>--warmup W</c> (100 operations of each
/// transport per warm-up batch, batches until one JIT-compiles at most <c>--settle</c> (20) methods, at most 8 batches),
/// <c>--iterations I</c> (1000: the request's PasswordBasedMac iterations), <c>--transports</c> (cmp-coap,cmp-http,est-sen,est-enroll),
/// <c>--coapenroll DLL</c> (this checkout's Release build of the CLI), <c>--json FILE</c>.
/// </summary>
internal static class CmpIrMode
{
    private const string DemoReference = "demo";

    private static readonly string[] AllTransports = ["cmp-coap", "cmp-http", "est-sen", "est-enroll"];

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                options[args[i][2..]] = args[++i];
            }
            else
            {
                Console.Error.WriteLine($"cmp-ir: unexpected argument '{args[i]}'");
                return 2;
            }
        }

        string dll = Path.GetFullPath(options.GetValueOrDefault("coapenroll") ?? ServeLoadMode.FindCoapEnrollDll());
        if (!File.Exists(dll))
        {
            Console.Error.WriteLine($"cmp-ir: {dll} not found; build it first: dotnet build src/CoapEnroll.Cli -c Release");
            return 2;
        }

        string probePath = Path.Combine(AppContext.BaseDirectory, SenCostMode.ProbeAssembly);
        var settings = new Settings(
            Int(options, "devices", 4), Int(options, "count", 200), Int(options, "rounds", 3), Int(options, "warmup", 100), Int(options, "settle", 20),
            Int(options, "iterations", 1000),
            [.. (options.GetValueOrDefault("transports") ?? string.Join(',', AllTransports)).Split(',', StringSplitOptions.RemoveEmptyEntries)]);
        if (settings.Transports.FirstOrDefault(t => !AllTransports.Contains(t)) is { } unknown)
        {
            Console.Error.WriteLine($"cmp-ir: unknown transport '{unknown}' ({string.Join(", ", AllTransports)})");
            return 2;
        }

        Console.WriteLine($"cmp-ir: {settings.Rounds} round(s) × {string.Join(", ", settings.Transports)}; {settings.Devices} devices, {settings.Count} operations " +
            $"per phase; request PasswordBasedMac {settings.Iterations} iterations; runtime {Environment.Version}; {Environment.ProcessorCount} CPUs; " +
            $"load average {LoadAverage()}");

        string socketPath = Path.Combine(Path.GetTempPath(), $"coapenroll-probe-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DOTNET_STARTUP_HOOKS"] = probePath,
            ["COAPENROLL_BENCH_PROBE"] = socketPath,
        };
        await using ServerUnderTest server = await ServerUnderTest.StartServeAsync(dll, psk: false, environment: environment, http: true);
        var results = new List<CmpIrPhase>();
        int failed = 0;
        try
        {
            Uri http = await server.WaitForHttpBaseAddressAsync(TimeSpan.FromSeconds(30));
            string secret = (await File.ReadAllTextAsync(Path.Combine(server.DataDirectory!, "demo", "cmp-demo.secret"))).Trim();
            DtlsClientOptions device = await EnrollmentProbe.LoadDemoDeviceAsync(server.DataDirectory!);
            Console.WriteLine($"  server: {server.CommandLine}");
            Console.WriteLine($"  CMP: coap://127.0.0.1:{server.CoapPort}/.well-known/cmp and {http}.well-known/cmp; EST: coaps://127.0.0.1:{server.CoapsPort}/.well-known/est/sen");
            Console.WriteLine("  " + MacCost(Encoding.UTF8.GetBytes(secret), settings.Iterations));
            var probe = new SenCostMode.ServerProbe(socketPath);
            var context = new Context(server, http, Encoding.UTF8.GetBytes(secret), device, settings);

            // Warm-up: batches of every transport until the JIT has (nearly) settled, as sen-cost does.
            SenCostMode.ServerCounters previous = await probe.ReadAsync();
            for (int batch = 1; ; batch++)
            {
                foreach (string transport in settings.Transports)
                {
                    CmpIrPhase warm = await RunPhaseAsync(transport, context, settings.Warmup, measure: false, null, 0);
                    failed += warm.Failures;
                }

                await Task.Delay(TimeSpan.FromSeconds(1));
                SenCostMode.ServerCounters now = await probe.ReadAsync();
                long jit = now.JitMethods - previous.JitMethods;
                previous = now;
                Console.WriteLine($"  warm-up batch {batch}: {settings.Warmup} of each; the server JIT-compiled {jit} methods");
                if (jit <= settings.Settle || batch >= 8)
                {
                    break;
                }
            }

            long probeOverhead = await probe.OverheadAsync();
            for (int round = 1; round <= settings.Rounds; round++)
            {
                int shift = (round - 1) % settings.Transports.Count;
                foreach (string transport in settings.Transports.Skip(shift).Concat(settings.Transports.Take(shift)))
                {
                    CmpIrPhase result = await RunPhaseAsync(transport, context, settings.Count, measure: true, probe, probeOverhead) with { Round = round };
                    results.Add(result);
                    failed += result.Failures;
                    Console.WriteLine(Format(result));
                    foreach (string error in result.Errors)
                    {
                        Console.WriteLine("      " + error);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.WriteLine($"cmp-ir: FAILED {ex}{Environment.NewLine}{server.RecentOutput()}");
            return 1;
        }
        finally
        {
            File.Delete(socketPath);
        }

        PrintSummary(results, settings);
        if (options.GetValueOrDefault("json") is { } json)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(results, JsonOptions));
            Console.WriteLine($"JSON written to {json}");
        }

        return failed == 0 ? 0 : 1;
    }

    private static async Task<CmpIrPhase> RunPhaseAsync(string transport, Context context, int count, bool measure, SenCostMode.ServerProbe? probe,
        long probeOverhead)
    {
        await using IOperations operations = transport switch
        {
            "cmp-coap" => await CmpCoapOperations.CreateAsync(context, count),
            "cmp-http" => await CmpHttpOperations.CreateAsync(context, count),
            "est-sen" => await EstSenOperations.CreateAsync(context, count),
            _ => await EstEnrollOperations.CreateAsync(context, count),
        };
        int devices = context.Settings.Devices;
        var latencies = new double[count];
        var errors = new List<string>();
        int failures = 0;
        await Task.Delay(measure ? 300 : 0);
        SenCostMode.ServerCounters before = probe is null ? default : await probe.ReadAsync();
        TimeSpan serverCpu = ProcessStats.CpuTime(context.Server.Pid);
        TimeSpan clientCpu = ProcessStats.CpuTime(Environment.ProcessId);
        long started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, devices).Select(d => Task.Run(async () =>
        {
            for (int i = d; i < count; i += devices)
            {
                long start = Stopwatch.GetTimestamp();
                string? error;
                try
                {
                    error = await operations.RunAsync(d, i);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    error = $"{ex.GetType().Name}: {ex.Message}";
                }

                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (error is not null)
                {
                    Interlocked.Increment(ref failures);
                    lock (errors)
                    {
                        if (errors.Count < 5)
                        {
                            errors.Add($"{transport} #{i}: {error}");
                        }
                    }
                }
            }
        })));
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        double clientCpuMs = (ProcessStats.CpuTime(Environment.ProcessId) - clientCpu).TotalMilliseconds;

        // Whatever the last operation left to the server (a close_notify, a log line) belongs to the phase.
        await Task.Delay(measure ? 200 : 0);
        double serverCpuMs = (ProcessStats.CpuTime(context.Server.Pid) - serverCpu).TotalMilliseconds;
        SenCostMode.ServerCounters after = probe is null ? default : await probe.ReadAsync();

        // Outside the measured window: every CMP answer's MAC.
        foreach (string error in operations.VerifyAnswers())
        {
            failures++;
            if (errors.Count < 5)
            {
                errors.Add($"{transport}: {error}");
            }
        }

        if (!measure && errors.Count > 0)
        {
            Console.WriteLine($"  warm-up {transport}: {failures} failed; {string.Join("; ", errors)}");
        }

        Array.Sort(latencies);
        return new CmpIrPhase
        {
            Transport = transport,
            Operations = count,
            Devices = devices,
            Failures = failures,
            WallSeconds = seconds,
            OperationsPerSecond = count / seconds,
            P50Ms = Percentile(latencies, 0.50),
            P99Ms = Percentile(latencies, 0.99),
            ServerCpuMsPerOperation = serverCpuMs / count,
            ClientCpuMsPerOperation = clientCpuMs / count,
            ServerKiBPerOperation = probe is null ? 0 : (after.Allocated - before.Allocated - probeOverhead) / 1024.0 / count,
            ServerGcs = $"{after.Gen0 - before.Gen0}/{after.Gen1 - before.Gen1}/{after.Gen2 - before.Gen2}",
            ServerJitMethods = after.JitMethods - before.JitMethods,
            AnswerMacIterations = operations.AnswerMacIterations,
            RequestBytes = operations.RequestBytes,
            AnswerBytes = operations.AnswerBytes,
            LoadAverage = LoadAverage(),
            Errors = errors,
        };
    }

    private static string Format(CmpIrPhase r) => string.Create(CultureInfo.InvariantCulture,
        $"  round {r.Round} {r.Transport,-10} {r.OperationsPerSecond,7:F1} ops/s  p50 {r.P50Ms,6:F1} ms  p99 {r.P99Ms,6:F1} ms  server CPU {r.ServerCpuMsPerOperation,5:F2} ms/op  " +
        $"alloc {r.ServerKiBPerOperation,6:F1} KiB/op  client CPU {r.ClientCpuMsPerOperation,5:F2} ms/op  failed {r.Failures}  GCs {r.ServerGcs}  JIT {r.ServerJitMethods}" +
        $"{(r.RequestBytes > 0 ? $"  request {r.RequestBytes} B, answer {r.AnswerBytes} B" : "")}{(r.AnswerMacIterations > 0 ? $", answer MAC {r.AnswerMacIterations} iterations" : "")}" +
        $"  load {r.LoadAverage}");

    private static void PrintSummary(List<CmpIrPhase> results, Settings settings)
    {
        Console.WriteLine();
        Console.WriteLine($"Median (min–max) over {settings.Rounds} round(s); {settings.Devices} devices, {settings.Count} operations per phase.");
        Console.WriteLine();
        Console.WriteLine("| transport | ops/s | p50 ms | p99 ms | server CPU ms/op | server KiB/op | client CPU ms/op | failed |");
        Console.WriteLine("|---|---|---|---|---|---|---|---:|");
        foreach (string transport in settings.Transports)
        {
            List<CmpIrPhase> mine = [.. results.Where(r => r.Transport == transport)];
            Console.WriteLine($"| {transport} | {Spread(mine.Select(r => r.OperationsPerSecond), "F0")} | {Spread(mine.Select(r => r.P50Ms), "F1")} | " +
                $"{Spread(mine.Select(r => r.P99Ms), "F1")} | {Spread(mine.Select(r => r.ServerCpuMsPerOperation), "F2")} | " +
                $"{Spread(mine.Select(r => r.ServerKiBPerOperation), "F1")} | {Spread(mine.Select(r => r.ClientCpuMsPerOperation), "F2")} | {mine.Sum(r => r.Failures)} |");
        }

        string reference = settings.Transports.Contains("est-sen") ? "est-sen" : settings.Transports[0];
        Console.WriteLine();
        Console.WriteLine($"Ratios to {reference} within each round, median (min–max):");
        Console.WriteLine();
        Console.WriteLine("| transport | ops/s | server CPU per op |");
        Console.WriteLine("|---|---|---|");
        foreach (string transport in settings.Transports.Where(t => t != reference))
        {
            var pairs = results.Where(r => r.Transport == reference)
                .Join(results.Where(r => r.Transport == transport), r => r.Round, r => r.Round, (a, b) => (A: a, B: b)).ToList();
            Console.WriteLine($"| {transport}/{reference} | {Spread(pairs.Select(p => p.B.OperationsPerSecond / p.A.OperationsPerSecond), "F2")} | " +
                $"{Spread(pairs.Select(p => p.B.ServerCpuMsPerOperation / p.A.ServerCpuMsPerOperation), "F2")} |");
        }
    }

    private static string Spread(IEnumerable<double> source, string format)
    {
        double[] values = [.. source.Order()];
        if (values.Length == 0)
        {
            return "";
        }

        double median = values.Length % 2 == 1 ? values[values.Length / 2] : (values[(values.Length / 2) - 1] + values[values.Length / 2]) / 2;
        return $"{median.ToString(format, CultureInfo.InvariantCulture)} ({values[0].ToString(format, CultureInfo.InvariantCulture)}–{values[^1].ToString(format, CultureInfo.InvariantCulture)})";
    }

    /// <summary>
    /// What verifying one PasswordBasedMac costs in this process (the same code serve runs) at the request's iterations, at serve's
    /// ResponseIterations default (1000) and at 1 iteration: this process's CPU time (/proc, all threads; nothing else runs in it then)
    /// over 1000 verifications each, which a loaded machine distorts less than wall time.
    /// </summary>
    private static string MacCost(byte[] secret, int iterations)
    {
        var policy = new CmpMacPolicy { MinIterations = 1 };
        double Cost(int count)
        {
            PkiMessage message = PkiMessageCodec.Decode(BuildIr(secret, count, 0)).Message!;
            CmpProtection.VerifyMac(message, secret, policy);
            TimeSpan before = ProcessStats.CpuTime(Environment.ProcessId);
            for (int i = 0; i < 1000; i++)
            {
                if (CmpProtection.VerifyMac(message, secret, policy).Status != CmpProtectionStatus.Valid)
                {
                    throw new InvalidOperationException("the bench's own MAC does not verify");
                }
            }

            return (ProcessStats.CpuTime(Environment.ProcessId) - before).TotalMicroseconds / 1000;
        }

        double one = Cost(1);
        double request = Cost(iterations);
        double response = Cost(1000);
        return string.Create(CultureInfo.InvariantCulture,
            $"PasswordBasedMac verification in this process (CPU over 1000 each): {request:F0} µs at the request's {iterations} iterations, " +
            $"{response:F0} µs at 1000 (serve's Cmp:ResponseIterations default), {one:F0} µs at 1 iteration");
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static string LoadAverage()
    {
        string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"{fields[0]} {fields[1]} {fields[2]}";
    }

    private static int Int(Dictionary<string, string> options, string name, int fallback) =>
        options.TryGetValue(name, out string? value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>A MAC-protected ir with implicitConfirm for a new P-256 key, as DER.</summary>
    private static byte[] BuildIr(byte[] secret, int iterations, int device)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedName($"CN=cmp-bench-device-{device.ToString(CultureInfo.InvariantCulture)}");
        PkiHeader header = CmpRequests.Header(subject, null, Encoding.UTF8.GetBytes(DemoReference), CmpRequests.NewId(), implicitConfirm: true);
        PkiMessage ir = CmpRequests.CertificateRequest(PkiBodyType.Ir, header, subject, key);
        return PkiMessageCodec.Encode(CmpProtection.ProtectWithMac(ir, secret, CmpMacParameters.PasswordBasedMac(iterations)));
    }

    /// <summary>Null when <paramref name="der"/> is an ip, status accepted, with a certificate and implicitConfirm granted; else why not.</summary>
    private static string? CheckIp(ReadOnlySpan<byte> der)
    {
        CmpDecodeResult decoded = PkiMessageCodec.Decode(der);
        if (decoded.Message is not { } message)
        {
            return $"the answer does not decode: {decoded.Reason}";
        }

        if (message.Body is ErrorBody error)
        {
            return $"error: failInfo {error.StatusInfo.FailInfo}, {string.Join("; ", error.StatusInfo.StatusString ?? [])}";
        }

        if (message.Body is not CertRepMessageBody { BodyType: PkiBodyType.Ip } body)
        {
            return $"the answer is {message.Body.BodyType}, not ip";
        }

        if (body.Responses is not [{ } response] || response.Status.Status != (int)PkiStatus.Accepted || response.CertifiedKeyPair is null)
        {
            return $"not accepted: {string.Join("; ", body.Responses.Select(r => $"status {r.Status.Status} failInfo {r.Status.FailInfo} {string.Join(" ", r.Status.StatusString ?? [])}"))}";
        }

        return message.Header.ImplicitConfirm ? null : "implicitConfirm not granted";
    }

    private sealed record Settings(int Devices, int Count, int Rounds, int Warmup, int Settle, int Iterations, List<string> Transports);

    private sealed record Context(ServerUnderTest Server, Uri Http, byte[] Secret, DtlsClientOptions Device, Settings Settings);

    /// <summary>One phase's operations, prepared before it: <see cref="RunAsync"/> does operation <c>index</c> for device <c>device</c>.</summary>
    private interface IOperations : IAsyncDisposable
    {
        int AnswerMacIterations { get; }

        int RequestBytes { get; }

        int AnswerBytes { get; }

        /// <summary>Null on success, else what went wrong.</summary>
        Task<string?> RunAsync(int device, int index);

        /// <summary>After the phase: the problems with the answers' protection.</summary>
        IEnumerable<string> VerifyAnswers();
    }

    /// <summary>CMP requests built before the phase, answers kept for the MAC check after it.</summary>
    private abstract class CmpOperations : IOperations
    {
        private readonly byte[] _secret;

        protected CmpOperations(Context context, int count)
        {
            _secret = context.Secret;
            Requests = new byte[count][];
            Answers = new byte[count][];
            Parallel.For(0, count, i => Requests[i] = BuildIr(context.Secret, context.Settings.Iterations, i % context.Settings.Devices));
            RequestBytes = Requests.Length == 0 ? 0 : Requests[0].Length;
        }

        public int AnswerMacIterations { get; private set; }

        public int RequestBytes { get; }

        public int AnswerBytes { get; private set; }

        protected byte[][] Requests { get; }

        protected byte[]?[] Answers { get; }

        public abstract Task<string?> RunAsync(int device, int index);

        public IEnumerable<string> VerifyAnswers()
        {
            var policy = new CmpMacPolicy { MinIterations = 1 };
            foreach (byte[]? answer in Answers)
            {
                if (answer is null)
                {
                    continue;
                }

                AnswerBytes = answer.Length;
                PkiMessage message = PkiMessageCodec.Decode(answer).Message!;
                AnswerMacIterations = PasswordBasedMacIterations(message);
                CmpProtectionResult result = CmpProtection.VerifyMac(message, _secret, policy);
                if (result.Status != CmpProtectionStatus.Valid)
                {
                    yield return $"the answer's MAC: {result.Status} {result.Detail}";
                }
            }
        }

        public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

        protected string? Keep(int index, byte[] answer)
        {
            string? problem = CheckIp(answer);
            if (problem is null)
            {
                Answers[index] = answer;
            }

            return problem;
        }

        /// <summary>PBMParameter's iterationCount (RFC 4211 §4.4), 0 for another protection.</summary>
        private static int PasswordBasedMacIterations(PkiMessage message)
        {
            if (message.Header.ProtectionAlg is not { Parameters: { } parameters } || CmpProtection.GetKind(message) != CmpProtectionKind.PasswordBasedMac)
            {
                return 0;
            }

            AsnReader sequence = new AsnReader(parameters, AsnEncodingRules.DER).ReadSequence();
            sequence.ReadOctetString();
            sequence.ReadSequence();
            return sequence.TryReadInt32(out int iterations) ? iterations : 0;
        }
    }

    private sealed class CmpCoapOperations : CmpOperations
    {
        private readonly CoapClient[] _clients;
        private readonly IPEndPoint _server;

        private CmpCoapOperations(Context context, int count)
            : base(context, count)
        {
            _server = context.Server.CoapEndPoint;
            _clients = [.. Enumerable.Range(0, context.Settings.Devices).Select(_ => new CoapClient(UdpDatagramChannel.BindEphemeralFor(_server)))];
        }

        public static Task<IOperations> CreateAsync(Context context, int count) => Task.FromResult<IOperations>(new CmpCoapOperations(context, count));

        public override async Task<string?> RunAsync(int device, int index)
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            CoapMessage request = CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/cmp").WithContentFormat(CoapContentFormat.PkixCmp).WithPayload(Requests[index]);
            CoapMessage response = await _clients[device].SendAsync(request, _server, limit.Token);
            return response.Code != CoapCode.Changed ? $"CoAP {response.Code}: {Encoding.UTF8.GetString(response.Payload.Span)}" : Keep(index, response.Payload.ToArray());
        }

        public override async ValueTask DisposeAsync()
        {
            foreach (CoapClient client in _clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private sealed class CmpHttpOperations : CmpOperations
    {
        private static HttpClient? s_client;

        private readonly Uri _uri;

        private CmpHttpOperations(Context context, int count)
            : base(context, count)
        {
            _uri = new Uri(context.Http, ".well-known/cmp");

            // One client and pool for the whole run, as a gateway would keep them: connections stay open between phases.
            s_client ??= new HttpClient(new SocketsHttpHandler
            {
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
                MaxConnectionsPerServer = context.Settings.Devices,
            })
            { Timeout = TimeSpan.FromSeconds(120) };
        }

        public static Task<IOperations> CreateAsync(Context context, int count) => Task.FromResult<IOperations>(new CmpHttpOperations(context, count));

        public override async Task<string?> RunAsync(int device, int index)
        {
            using var content = new ByteArrayContent(Requests[index]);
            content.Headers.ContentType = new MediaTypeHeaderValue(CmpHttpEndpoints.MediaType);
            using HttpResponseMessage response = await s_client!.PostAsync(_uri, content);
            byte[] body = await response.Content.ReadAsByteArrayAsync();
            return response.StatusCode != HttpStatusCode.OK
                ? $"HTTP {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}"
                : response.Content.Headers.ContentType?.MediaType != CmpHttpEndpoints.MediaType
                    ? $"Content-Type {response.Content.Headers.ContentType}"
                    : Keep(index, body);
        }
    }

    /// <summary>One DTLS session per device, opened before the phase; CSRs (new P-256 keys, linked to the session) made before it too.</summary>
    private sealed class EstSenOperations : IOperations
    {
        private readonly EstCoapsClient[] _clients;
        private readonly byte[][] _csrs;

        private EstSenOperations(EstCoapsClient[] clients, byte[][] csrs)
        {
            _clients = clients;
            _csrs = csrs;
        }

        public int AnswerMacIterations => 0;

        public int RequestBytes => _csrs.Length == 0 ? 0 : _csrs[0].Length;

        public int AnswerBytes => 0;

        public static async Task<IOperations> CreateAsync(Context context, int count)
        {
            int devices = context.Settings.Devices;
            var clients = new EstCoapsClient[devices];
            for (int d = 0; d < devices; d++)
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                clients[d] = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(context.Server.CoapsEndPoint, context.Device, limit.Token));
            }

            var subject = new X500DistinguishedName(EnrollmentProbe.Subject);
            var csrs = new byte[count][];
            for (int i = 0; i < count; i++)
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                csrs[i] = clients[i % devices].CreateCsr(subject, key);
            }

            return new EstSenOperations(clients, csrs);
        }

        public async Task<string?> RunAsync(int device, int index)
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            using X509Certificate2 issued = await _clients[device].EnrollAsync(_csrs[index], cancellationToken: limit.Token);
            return null;
        }

        public IEnumerable<string> VerifyAnswers() => [];

        public async ValueTask DisposeAsync()
        {
            foreach (EstCoapsClient client in _clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>What a device does (<see cref="EnrollmentProbe"/>): handshake, /sen, close_notify; keys made before the phase.</summary>
    private sealed class EstEnrollOperations : IOperations
    {
        private readonly Context _context;
        private readonly ECDsa[] _keys;

        private EstEnrollOperations(Context context, ECDsa[] keys)
        {
            _context = context;
            _keys = keys;
        }

        public int AnswerMacIterations => 0;

        public int RequestBytes => 0;

        public int AnswerBytes => 0;

        public static Task<IOperations> CreateAsync(Context context, int count) =>
            Task.FromResult<IOperations>(new EstEnrollOperations(context, [.. Enumerable.Range(0, count).Select(_ => ECDsa.Create(ECCurve.NamedCurves.nistP256))]));

        public async Task<string?> RunAsync(int device, int index)
        {
            EnrollmentResult result = await EnrollmentProbe.EnrollAsync(_context.Server.CoapsEndPoint, _context.Device, _keys[index]);
            return result.Issued ? null : result.Detail;
        }

        public IEnumerable<string> VerifyAnswers() => [];

        public ValueTask DisposeAsync()
        {
            foreach (ECDsa key in _keys)
            {
                key.Dispose();
            }

            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>One measured phase of <c>cmp-ir</c>: one transport, one round.</summary>
internal sealed record CmpIrPhase
{
    public required string Transport { get; init; }

    public int Round { get; init; }

    public int Operations { get; init; }

    public int Devices { get; init; }

    public int Failures { get; init; }

    public double WallSeconds { get; init; }

    public double OperationsPerSecond { get; init; }

    public double P50Ms { get; init; }

    public double P99Ms { get; init; }

    /// <summary>serve's utime + stime over the phase per operation.</summary>
    public double ServerCpuMsPerOperation { get; init; }

    /// <summary>The bench process's CPU over the phase per operation (sending and checking; requests were built before).</summary>
    public double ClientCpuMsPerOperation { get; init; }

    public double ServerKiBPerOperation { get; init; }

    public string ServerGcs { get; init; } = "";

    public long ServerJitMethods { get; init; }

    /// <summary>The iterationCount of the answers' PasswordBasedMac (CMP).</summary>
    public int AnswerMacIterations { get; init; }

    public int RequestBytes { get; init; }

    public int AnswerBytes { get; init; }

    public string LoadAverage { get; init; } = "";

    public List<string> Errors { get; init; } = [];
}
