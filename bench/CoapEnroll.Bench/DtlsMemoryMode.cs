using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using CoapEnroll.Dtls;
using CoapEnroll.Transport;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>dtls-memory N [ecdhe|ecdhemutual|psk] [exchange] [CHILDREN]</c>: memory per established connection on the server.
/// With <c>exchange</c> each measured client sends one datagram once connected (as a device that made one request and
/// then idles), which also lets the server drop its final flight.
/// The server runs in this process; the N clients run in CHILDREN child processes (<c>dtls-clients</c>; by default one per
/// <see cref="ClientsPerChild"/> sessions, since one process cannot hold 100,000 UDP sockets: <c>ulimit -n</c> and the ephemeral
/// port range), so the server's numbers contain no client state. With more than one child, child k binds its sockets to
/// 127.0.0.(k+2). Each child connects its clients one after the other (the children at the same time) and keeps them open; the
/// server then reports, per connection: live managed heap (GC.GetTotalMemory(true)), managed bytes allocated while handshaking
/// (GC.GetTotalAllocatedBytes), resident set (VmRSS, which also counts native OpenSSL state), server CPU time per handshake, and
/// the time to establish all. Then every client sends close_notify; the server reports how many connections the lost alerts
/// left open and its socket's drops, and checks that its idle sweep reaps them once its clock passes the idle timeout (1 h here,
/// longer than establishing 100,000 sessions takes; the product's default is 10 min), moved ahead by
/// <see cref="SkippableTimeProvider"/> rather than waited out, and reports the live heap again after one more idle sweep, which gives the
/// connection tables' memory back. The children report the same for the client side.
/// </summary>
internal static class DtlsMemoryMode
{
    /// <summary>Sessions per child by default: below <c>ulimit -n</c> (20,000 here) and the 28,232 ports of the ephemeral range.</summary>
    private const int ClientsPerChild = 15_000;

    public static async Task<int> RunServerAsync(string[] args)
    {
        int n = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
        HandshakeKind kind = args.Length > 2 ? Enum.Parse<HandshakeKind>(args[2], ignoreCase: true) : HandshakeKind.Ecdhe;
        bool exchange = args.Skip(3).Contains("exchange");
        string? childrenArgument = args.Skip(3).FirstOrDefault(a => a != "exchange");
        int children = childrenArgument is not null ? int.Parse(childrenArgument, CultureInfo.InvariantCulture) : (n + ClientsPerChild - 1) / ClientsPerChild;
        if (n < 1 || children < 1 || children > 200 || children > n)
        {
            Console.Error.WriteLine("usage: dtls-memory N [ecdhe|ecdhemutual|psk] [exchange] [CHILDREN]  (N >= CHILDREN >= 1, CHILDREN <= 200)");
            return 2;
        }

        int warmup = Math.Min(100, n / children);

        using DtlsTestCredentials credentials = DtlsTestCredentials.Create();
        string pfx = Path.Combine(Path.GetTempPath(), $"coapenroll-bench-root-{Environment.ProcessId}.pfx");
        credentials.ExportRoot(pfx);
        var clients = new List<Process>();
        try
        {
            var time = new SkippableTimeProvider();
            DtlsServerOptions serverOptions = credentials.ServerOptions();
            serverOptions.MaxConnections = Math.Max(serverOptions.MaxConnections, n + 1000);
            // The clients come from 1 to 7 loopback addresses, each standing for many devices behind one NAT address: the per-address
            // bound (1,000 by default) would stop each at that. This mode measures memory per session, not that bound.
            serverOptions.MaxConnectionsPerAddress = serverOptions.MaxConnections;
            serverOptions.TimeProvider = time;
            // Longer than establishing 100,000 sessions takes on a loaded machine (the product's 10 min would evict the first ones
            // before the last are up); the reaping check below moves the clock past whatever it is.
            serverOptions.IdleTimeout = TimeSpan.FromHours(1);
            await using DtlsServerChannel server = PortBase() is { } first
                ? new DtlsServerChannel(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, first), DtlsOptions.DefaultPathMtu), serverOptions)
                : DtlsHandshakeMode.CreateServer(serverOptions);
            var drained = new StrongBox<int>();
            _ = DrainAsync(server, drained);
            int port = ((IPEndPoint)server.LocalEndPoint).Port;

            // One child: its sockets on the wildcard address, as before. More: child k binds its sockets to 127.0.0.(k+2), so that
            // each has the whole ephemeral port range to itself (a UDP socket needs a port of its own per local address).
            for (int k = 0; k < children; k++)
            {
                int share = n / children + (k < n % children ? 1 : 0);
                string local = children == 1 ? "any" : $"127.0.0.{k + 2}";
                clients.Add(ProcessStats.StartSelf($"dtls-clients {port} \"{pfx}\" {kind} {warmup} {share} {local} {(exchange ? "exchange" : "none")}"));
            }

            foreach (Process child in clients)
            {
                await ProcessStats.WaitForLineAsync(child, "warm", TimeSpan.FromMinutes(5));
            }

            await WaitForCountAsync(server, 0, TimeSpan.FromMinutes(2));

            string? dumps = Environment.GetEnvironmentVariable("DTLS_MEMORY_GCDUMP");
            await GcDumpAsync(dumps, "before");
            Snapshot before = Snapshot.Take();
            var clock = Stopwatch.StartNew();
            await SendAllAsync(clients, "go");
            await Task.WhenAll(clients.Select(c => ProcessStats.WaitForLineAsync(c, "ready", TimeSpan.FromMinutes(60))));
            TimeSpan establish = clock.Elapsed;
            await WaitForCountAsync(server, n, TimeSpan.FromMinutes(2));
            while (exchange && Volatile.Read(ref drained.Value) < n)
            {
                await Task.Delay(10);
            }

            clock.Stop();
            Snapshot after = Snapshot.Take();
            await GcDumpAsync(dumps, "after");

            long dropsBeforeClose = UdpSocketStats.Drops(port);
            await SendAllAsync(clients, "close");
            string[] clientReports = await Task.WhenAll(clients.Select(c => ProcessStats.WaitForLineAsync(c, "client", TimeSpan.FromMinutes(30))));
            // The close_notify alerts that reached the socket are handled within a few seconds; what is left then had its alert lost.
            var settle = Stopwatch.StartNew();
            int left = server.ConnectionCount;
            while (settle.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(TimeSpan.FromSeconds(5));
                int now = server.ConnectionCount;
                if (now == left)
                {
                    break;
                }

                left = now;
            }

            long closeDrops = UdpSocketStats.Drops(port) - dropsBeforeClose;
            string reaped = "none left";
            if (left > 0)
            {
                // Move the server's clock past the idle timeout instead of waiting it out; the sweep runs every 30 s of real time.
                time.Skip(serverOptions.IdleTimeout + TimeSpan.FromSeconds(1));
                var sweep = Stopwatch.StartNew();
                await WaitForCountAsync(server, 0, TimeSpan.FromMinutes(3));
                reaped = $"all {left} reaped by the idle sweep {sweep.Elapsed.TotalSeconds:F1} s after the server's clock passed the {serverOptions.IdleTimeout.TotalMinutes:F0} min idle timeout";
            }

            Snapshot closed = Snapshot.Take();
            // The idle sweep (every 30 s of real time at this idle timeout) also gives the tables' memory back after the peak.
            await Task.Delay(TimeSpan.FromSeconds(31));
            Snapshot swept = Snapshot.Take();
            await SendAllAsync(clients, "exit");
            foreach (Process child in clients)
            {
                await child.WaitForExitAsync();
            }

            Console.WriteLine($"dtls-memory kind={kind} connections={n} ({children} client process{(children == 1 ? "" : "es")}, each connecting one after the other{(exchange ? ", one datagram each" : "")}), runtime {Environment.Version}");
            Console.WriteLine($"server  live managed heap per connection : {(after.Heap - before.Heap) / (double)n,10:F0} B");
            Console.WriteLine($"server  managed allocated per handshake  : {(after.Allocated - before.Allocated) / (double)n,10:F0} B");
            Console.WriteLine($"server  VmRSS growth per connection      : {(after.Rss - before.Rss) / (double)n,10:F0} B");
            Console.WriteLine($"server  CPU time per handshake           : {(after.Cpu - before.Cpu).TotalMilliseconds * 1000 / n,10:F0} us");
            Console.WriteLine($"server  gen0/1/2 collections             : {after.Gen0 - before.Gen0}/{after.Gen1 - before.Gen1}/{after.Gen2 - before.Gen2}");
            Console.WriteLine($"server  live heap / VmRSS at {n} sessions  : {after.Heap / 1048576.0:F1} MiB / {after.Rss / 1048576.0:F1} MiB");
            Console.WriteLine($"time to establish all {n}: {establish.TotalSeconds:F1} s = {n / establish.TotalSeconds:F0} handshakes/s (wall, all processes on {Environment.ProcessorCount} cores)");
            Console.WriteLine($"after the close_notify of all: {left} connections left open, {closeDrops} datagrams dropped by the server socket; {reaped}");
            Console.WriteLine($"server  live heap after all closed vs before: {closed.Heap - before.Heap:+#;-#;0} B");
            Console.WriteLine($"server  live heap 31 s later (an idle sweep, which trims the tables) vs before: {swept.Heap - before.Heap:+#;-#;0} B");
            foreach (string report in clientReports)
            {
                Console.WriteLine(report);
            }

            return 0;
        }
        finally
        {
            foreach (Process child in clients)
            {
                if (!child.HasExited)
                {
                    child.Kill();
                }

                child.Dispose();
            }

            File.Delete(pfx);
        }
    }

    public static async Task<int> RunClientsAsync(string[] args)
    {
        int port = int.Parse(args[1], CultureInfo.InvariantCulture);
        using DtlsTestCredentials credentials = DtlsTestCredentials.Load(args[2]);
        HandshakeKind kind = Enum.Parse<HandshakeKind>(args[3], ignoreCase: true);
        int warmup = int.Parse(args[4], CultureInfo.InvariantCulture);
        int n = int.Parse(args[5], CultureInfo.InvariantCulture);
        IPAddress? local = args.Length > 6 && args[6] != "any" ? IPAddress.Parse(args[6]) : null;
        bool exchange = args.Length > 7 && args[7] == "exchange";
        var server = new IPEndPoint(IPAddress.Loopback, port);
        DtlsClientOptions options = credentials.ClientOptions(kind);
        // DTLS_MEMORY_PORTS (one child only): client i on a fixed loopback port; several children: each on its own address.
        Task<DtlsClientChannel> ConnectAsync(int index) => local is not null
            ? DtlsClientChannel.ConnectAsync(UdpDatagramChannel.Bind(new IPEndPoint(local, 0), options.PathMtu), server, options, CancellationToken.None)
            : PortBase() is { } first
                ? DtlsClientChannel.ConnectAsync(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, first + 1 + index), options.PathMtu), server, options,
                    CancellationToken.None)
                : DtlsClientChannel.ConnectAsync(server, options, CancellationToken.None);

        for (int i = 0; i < warmup; i++)
        {
            await using DtlsClientChannel warm = await ConnectAsync(i);
        }

        Console.WriteLine("warm");
        await Console.In.ReadLineAsync(); // go
        Snapshot before = Snapshot.Take();
        var clock = Stopwatch.StartNew();
        var clients = new List<DtlsClientChannel>(n);
        for (int i = 0; i < n; i++)
        {
            DtlsClientChannel client = await ConnectAsync(warmup + i);
            if (exchange)
            {
                await client.SendAsync(new byte[] { 0x40 }, client.RemoteEndPoint, CancellationToken.None);
            }

            clients.Add(client);
        }

        Snapshot after = Snapshot.Take();
        Console.WriteLine($"ready {n} in {clock.Elapsed.TotalSeconds:F1} s");
        await Console.In.ReadLineAsync(); // close
        for (int i = 0; i < clients.Count; i++)
        {
            await clients[i].DisposeAsync();
            if (i % 25 == 24)
            {
                // 1000 close_notify back to back overflow the server socket's receive buffer (about 250 small
                // datagrams) whenever the server lags, and the lost ones leave connections until the idle timeout.
                await Task.Delay(10);
            }
        }

        Console.WriteLine($"client{(local is null ? "" : " " + local)}  {n} connections: live managed heap per connection {(after.Heap - before.Heap) / (double)n:F0} B; " +
            $"allocated per handshake {(after.Allocated - before.Allocated) / (double)n:F0} B; VmRSS per connection {(after.Rss - before.Rss) / (double)n:F0} B; " +
            $"CPU per handshake {(after.Cpu - before.Cpu).TotalMilliseconds * 1000 / n:F0} us");
        await Console.In.ReadLineAsync(); // exit
        return 0;
    }

    private static async Task SendAllAsync(List<Process> children, string line)
    {
        foreach (Process child in children)
        {
            await child.StandardInput.WriteLineAsync(line);
            await child.StandardInput.FlushAsync();
        }
    }

    /// <summary>
    /// DTLS_MEMORY_PORTS=P binds the server to 127.0.0.1:P and client i to P + 1 + i instead of ephemeral ports, for machines
    /// whose ephemeral range other processes have used up.
    /// </summary>
    private static int? PortBase() =>
        int.TryParse(Environment.GetEnvironmentVariable("DTLS_MEMORY_PORTS"), CultureInfo.InvariantCulture, out int port) ? port : null;

    /// <summary>
    /// With DTLS_MEMORY_GCDUMP=DIR, writes DIR/before.gcdump and DIR/after.gcdump of this process with
    /// <c>dotnet-gcdump</c> (a .NET global tool); <c>dotnet-gcdump report</c> gives the heap by type.
    /// </summary>
    private static async Task GcDumpAsync(string? directory, string name)
    {
        if (string.IsNullOrEmpty(directory))
        {
            return;
        }

        Directory.CreateDirectory(directory);
        string tool = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools", "dotnet-gcdump");
        var info = new ProcessStartInfo(File.Exists(tool) ? tool : "dotnet-gcdump",
            $"collect -p {Environment.ProcessId} -o \"{Path.Combine(directory, name + ".gcdump")}\"")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        };
        using Process dump = Process.Start(info) ?? throw new InvalidOperationException("Could not start dotnet-gcdump.");
        await dump.StandardOutput.ReadToEndAsync();
        await dump.WaitForExitAsync();
        if (dump.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet-gcdump exited with {dump.ExitCode}.");
        }
    }

    private static async Task WaitForCountAsync(DtlsServerChannel server, int count, TimeSpan limit)
    {
        var deadline = Stopwatch.StartNew();
        while (server.ConnectionCount != count)
        {
            if (deadline.Elapsed > limit)
            {
                throw new TimeoutException($"Server has {server.ConnectionCount} connections, expected {count}.");
            }

            await Task.Delay(10);
        }
    }

    private static async Task DrainAsync(DtlsServerChannel server, StrongBox<int> received)
    {
        byte[] buffer = new byte[2048];
        try
        {
            while (true)
            {
                await server.ReceiveAsync(buffer, CancellationToken.None);
                Interlocked.Increment(ref received.Value);
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private readonly record struct Snapshot(long Heap, long Allocated, long Rss, TimeSpan Cpu, int Gen0, int Gen1, int Gen2)
    {
        public static Snapshot Take()
        {
            long heap = GC.GetTotalMemory(forceFullCollection: true);
            GC.WaitForPendingFinalizers();
            heap = GC.GetTotalMemory(forceFullCollection: true);
            return new Snapshot(heap, GC.GetTotalAllocatedBytes(precise: true), ProcessStats.ResidentBytes(Environment.ProcessId),
                ProcessStats.CpuTime(Environment.ProcessId), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        }
    }
}
