using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>coap-compare [clients] [concurrency] [requestsPerClient] [rounds] [path]</c>: requests per second of our
/// CoapServer and of libcoap's coap-server-notls under the same load generator (our CoapClient, CON GET).
/// Both servers run as separate processes (ours: <c>coap-server</c> mode of this program), so neither shares
/// a process with the load generator; the rounds alternate between them. Reported per round: requests/s
/// (wall), latency percentiles, and the server process's CPU time per request (from /proc), which is the
/// figure least disturbed by other load on a shared 2-core machine.
/// Environment variables COAPSERVER_NAME=value are passed to our server process only, as NAME=value.
/// RFC 7252 §4.4: every client endpoint counts its message IDs up from a random start and sends fewer than
/// 65536 messages in a round, and every round uses fresh endpoints (new ports), so no (endpoint, MID) pair
/// ever repeats, for either server, whatever their deduplication windows.
/// </summary>
internal static class CoapCompareMode
{
    private const string RootText = "This is a test server made with libcoap (see https://libcoap.net)\n" +
        "Copyright (C) 2010--2022 Olaf Bergmann <bergmann@tzi.org> and others\n\n";

    /// <summary>Loopback transmission parameters (EXCHANGE_LIFETIME 7 s), as in LoopbackBenchmarks.</summary>
    public static CoapEndpointOptions LoopbackParameters() => new() { MaxLatency = TimeSpan.FromSeconds(1), MaxRetransmit = 1 };

    /// <summary><c>coap-server PORT</c>: our server with the two resources coap-server-notls serves, same responses.</summary>
    public static async Task<int> RunServerAsync(string[] args)
    {
        int port = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5683;

        await using var server = new CoapServer(new CoapServerOptions { Endpoint = LoopbackParameters() });
        byte[] root = System.Text.Encoding.ASCII.GetBytes(RootText);
        // Same options and payloads as libcoap 4.3.1: Max-Age (0x2ffff on "/", 1 on "/time"), text payload.
        server.MapGet("/", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content, Payload = root }
            .SetUInt(CoapOptionNumber.MaxAge, 0x2ffff)));
        server.MapGet("/time", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }
            .SetUInt(CoapOptionNumber.MaxAge, 1)
            .WithPayload(DateTime.UtcNow.ToString("MMM dd HH:mm:ss", CultureInfo.InvariantCulture))));
        CoapEndpoint endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, port)));
        Console.WriteLine($"listening {((IPEndPoint)endpoint.LocalEndPoint).Port}");
        // "stats" prints the managed bytes allocated so far (for bytes/request); anything else, or EOF, stops.
        while (await Console.In.ReadLineAsync() == "stats")
        {
            Console.WriteLine($"stats {GC.GetTotalAllocatedBytes(precise: true)} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)}");
        }

        return 0;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        int clients = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 8;
        int concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 16;
        int perClient = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 20_000;
        int rounds = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 3;
        string path = args.Length > 5 ? args[5] : "/time";
        const int warmupPerClient = 1000;
        if (perClient + warmupPerClient >= 65536)
        {
            throw new ArgumentException("A client endpoint must send fewer than 65536 messages per round (no MID reuse).");
        }

        Console.WriteLine($"coap-compare: {clients} client endpoints x {concurrency} concurrent CON GET {path}, {perClient} requests per client " +
            $"({clients * perClient} per round, after {warmupPerClient} warm-up per client), {rounds} rounds per server, runtime {Environment.Version}");

        // COAPSERVER_X=v in our environment sets X=v for our server only (runtime knobs such as
        // DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS), so the load generator stays the same for both servers.
        var serverEnvironment = new Dictionary<string, string>();
        foreach (System.Collections.DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            if (variable.Key is string name && name.StartsWith("COAPSERVER_", StringComparison.Ordinal) && name.Length > "COAPSERVER_".Length)
            {
                serverEnvironment[name["COAPSERVER_".Length..]] = variable.Value as string ?? "";
            }
        }

        if (serverEnvironment.Count > 0)
        {
            Console.WriteLine("our server's environment: " + string.Join(' ', serverEnvironment.Select(v => $"{v.Key}={v.Value}")));
        }

        using Process ours = ProcessStats.StartSelf("coap-server 0", environment: serverEnvironment);
        int oursPort = int.Parse((await ProcessStats.WaitForLineAsync(ours, "listening", TimeSpan.FromMinutes(2))).Split(' ')[1], CultureInfo.InvariantCulture);
        int libcoapPort = FreeUdpPort();
        using Process libcoap = Process.Start(new ProcessStartInfo("coap-server-notls", $"-A 127.0.0.1 -p {libcoapPort} -v 0")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;

        var servers = new (string Name, Process Process, IPEndPoint Address)[]
        {
            ("CoapEnroll CoapServer", ours, new IPEndPoint(IPAddress.Loopback, oursPort)),
            ("libcoap 4.3.1 coap-server-notls", libcoap, new IPEndPoint(IPAddress.Loopback, libcoapPort)),
        };
        var results = servers.ToDictionary(s => s.Name, _ => new List<RoundResult>());
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                foreach (var (name, process, address) in servers)
                {
                    RoundResult result = await RunRoundAsync(ReferenceEquals(process, ours) ? ours : null, process.Id, address, path, clients, concurrency, perClient, warmupPerClient);
                    results[name].Add(result);
                    string allocation = double.IsNaN(result.ServerBytesPerRequest) ? "" :
                        string.Create(CultureInfo.InvariantCulture, $", server allocated {result.ServerBytesPerRequest:F0} B/req, gen0/1/2 {result.ServerGcs}");
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {round + 1} {name,-32}: {result.RequestsPerSecond,8:F0} req/s, p50 {result.P50Ms:F2} ms, p99 {result.P99Ms:F2} ms, " +
                        $"server CPU {result.ServerCpuUsPerRequest:F1} us/req, load generator CPU {result.ClientCpuUsPerRequest:F1} us/req, failures {result.Failures}{allocation}"));
                }
            }
        }
        finally
        {
            await ours.StandardInput.WriteLineAsync();
            libcoap.Kill();
            await ours.WaitForExitAsync();
            await libcoap.WaitForExitAsync();
        }

        Console.WriteLine("median over rounds:");
        foreach (var (name, list) in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name,-32}: {Median(list.Select(r => r.RequestsPerSecond)),8:F0} req/s, p50 {Median(list.Select(r => r.P50Ms)):F2} ms, " +
                $"p99 {Median(list.Select(r => r.P99Ms)):F2} ms, server CPU {Median(list.Select(r => r.ServerCpuUsPerRequest)):F1} us/req"));
        }

        return 0;
    }

    private static async Task<long[]?> StatsAsync(Process? ours)
    {
        if (ours is null)
        {
            return null;
        }

        await ours.StandardInput.WriteLineAsync("stats");
        await ours.StandardInput.FlushAsync();
        string line = await ProcessStats.WaitForLineAsync(ours, "stats", TimeSpan.FromSeconds(30));
        return line.Split(' ').Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }

    private static async Task<RoundResult> RunRoundAsync(Process? ours, int serverPid, IPEndPoint server, string path, int clientCount, int concurrency,
        int perClient, int warmupPerClient)
    {
        var request = CoapMessage.CreateRequest(CoapCode.Get, path);
        var clients = new CoapClient[clientCount];
        for (int i = 0; i < clientCount; i++)
        {
            CoapEndpointOptions parameters = LoopbackParameters();
            parameters.NStart = concurrency;
            clients[i] = new CoapClient(UdpDatagramChannel.BindEphemeralFor(server), new CoapClientOptions { Endpoint = parameters });
        }

        try
        {
            await LoadAsync(clients, server, request, concurrency, warmupPerClient, null);
            GC.Collect();
            var latencies = new List<double>[clientCount * concurrency];
            long[]? statsBefore = await StatsAsync(ours);
            TimeSpan serverCpu = ProcessStats.CpuTime(serverPid);
            TimeSpan clientCpu = ProcessStats.CpuTime(Environment.ProcessId);
            var clock = Stopwatch.StartNew();
            int failures = await LoadAsync(clients, server, request, concurrency, perClient, latencies);
            clock.Stop();
            double serverCpuUs = (ProcessStats.CpuTime(serverPid) - serverCpu).TotalMilliseconds * 1000;
            double clientCpuUs = (ProcessStats.CpuTime(Environment.ProcessId) - clientCpu).TotalMilliseconds * 1000;
            int total = clientCount * perClient;
            long[]? statsAfter = await StatsAsync(ours);
            double serverBytes = statsBefore is null ? double.NaN : (statsAfter![0] - statsBefore[0]) / (double)total;
            string gcs = statsBefore is null ? "" : $"{statsAfter![1] - statsBefore[1]}/{statsAfter[2] - statsBefore[2]}/{statsAfter[3] - statsBefore[3]}";
            double[] all = latencies.SelectMany(l => l).Order().ToArray();
            return new RoundResult(total / clock.Elapsed.TotalSeconds, Percentile(all, 0.5), Percentile(all, 0.99), serverCpuUs / total,
                clientCpuUs / total, failures, serverBytes, gcs);
        }
        finally
        {
            foreach (CoapClient client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static async Task<int> LoadAsync(CoapClient[] clients, IPEndPoint server, CoapMessage request, int concurrency, int perClient,
        List<double>[]? latencies)
    {
        int failures = 0;
        var workers = new List<Task>();
        for (int c = 0; c < clients.Length; c++)
        {
            CoapClient client = clients[c];
            for (int w = 0; w < concurrency; w++)
            {
                int count = perClient / concurrency + (w < perClient % concurrency ? 1 : 0);
                var samples = new List<double>(count);
                if (latencies is not null)
                {
                    latencies[c * concurrency + w] = samples;
                }

                workers.Add(Task.Run(async () =>
                {
                    for (int i = 0; i < count; i++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        try
                        {
                            CoapMessage response = await client.SendAsync(request, server, CancellationToken.None);
                            if (response.Code != CoapCode.Content)
                            {
                                Interlocked.Increment(ref failures);
                            }
                        }
                        catch (CoapProtocolException)
                        {
                            Interlocked.Increment(ref failures);
                        }

                        samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    }
                }));
            }
        }

        await Task.WhenAll(workers);
        return failures;
    }

    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private readonly record struct RoundResult(double RequestsPerSecond, double P50Ms, double P99Ms, double ServerCpuUsPerRequest,
        double ClientCpuUsPerRequest, int Failures, double ServerBytesPerRequest, string ServerGcs);
}
