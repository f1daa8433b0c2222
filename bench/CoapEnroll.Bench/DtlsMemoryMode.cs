using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using CoapEnroll.Dtls;
using CoapEnroll.Transport;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>dtls-memory N [ecdhe|ecdhemutual|psk] [exchange]</c>: memory per established connection on the server.
/// With <c>exchange</c> each measured client sends one datagram once connected (as a device that made one request and
/// then idles), which also lets the server drop its final flight.
/// The server runs in this process; the N clients run in a child process (<c>dtls-clients</c>), so the
/// server's numbers contain no client state. The child connects its clients one after the other and
/// keeps them open; the server then reports, per connection: live managed heap (GC.GetTotalMemory(true)),
/// managed bytes allocated while handshaking (GC.GetTotalAllocatedBytes), resident set (VmRSS, which also
/// counts native OpenSSL state) and server CPU time per handshake. The child reports the same for the
/// client side.
/// </summary>
internal static class DtlsMemoryMode
{
    public static async Task<int> RunServerAsync(string[] args)
    {
        int n = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
        HandshakeKind kind = args.Length > 2 ? Enum.Parse<HandshakeKind>(args[2], ignoreCase: true) : HandshakeKind.Ecdhe;
        int warmup = Math.Min(100, n);
        bool exchange = args.Length > 3 && args[3] == "exchange";

        using DtlsTestCredentials credentials = DtlsTestCredentials.Create();
        string pfx = Path.Combine(Path.GetTempPath(), $"coapenroll-bench-root-{Environment.ProcessId}.pfx");
        credentials.ExportRoot(pfx);
        try
        {
            int? portBase = PortBase();
            await using DtlsServerChannel server = portBase is { } first
                ? new DtlsServerChannel(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, first), DtlsOptions.DefaultPathMtu), credentials.ServerOptions())
                : DtlsHandshakeMode.CreateServer(credentials.ServerOptions());
            var drained = new StrongBox<int>();
            _ = DrainAsync(server, drained);
            int port = ((IPEndPoint)server.LocalEndPoint).Port;

            using Process child = ProcessStats.StartSelf($"dtls-clients {port} \"{pfx}\" {kind} {warmup} {n} {(exchange ? "exchange" : "none")}");
            await ProcessStats.WaitForLineAsync(child, "warm", TimeSpan.FromMinutes(5));
            await WaitForCountAsync(server, 0);

            string? dumps = Environment.GetEnvironmentVariable("DTLS_MEMORY_GCDUMP");
            await GcDumpAsync(dumps, "before");
            Snapshot before = Snapshot.Take();
            var clock = Stopwatch.StartNew();
            await child.StandardInput.WriteLineAsync("go");
            await child.StandardInput.FlushAsync();
            await ProcessStats.WaitForLineAsync(child, "ready", TimeSpan.FromMinutes(30));
            await WaitForCountAsync(server, n);
            while (exchange && Volatile.Read(ref drained.Value) < n)
            {
                await Task.Delay(10);
            }

            clock.Stop();
            Snapshot after = Snapshot.Take();
            await GcDumpAsync(dumps, "after");

            // Printed before the close phase, which can time out when close_notify datagrams are lost on a loaded machine.
            Console.WriteLine($"dtls-memory kind={kind} connections={n} (sequential, one client process{(exchange ? ", one datagram each" : "")}), runtime {Environment.Version}");
            Console.WriteLine($"server  live managed heap per connection : {(after.Heap - before.Heap) / (double)n,10:F0} B");
            Console.WriteLine($"server  managed allocated per handshake  : {(after.Allocated - before.Allocated) / (double)n,10:F0} B");
            Console.WriteLine($"server  VmRSS growth per connection      : {(after.Rss - before.Rss) / (double)n,10:F0} B");
            Console.WriteLine($"server  CPU time per handshake           : {(after.Cpu - before.Cpu).TotalMilliseconds * 1000 / n,10:F0} us");
            Console.WriteLine($"server  gen0/1/2 collections             : {after.Gen0 - before.Gen0}/{after.Gen1 - before.Gen1}/{after.Gen2 - before.Gen2}");
            Console.WriteLine($"sequential handshakes/s (wall, both processes on 2 cores): {n / clock.Elapsed.TotalSeconds:F0}");

            await child.StandardInput.WriteLineAsync("close");
            await child.StandardInput.FlushAsync();
            string clientReport = await ProcessStats.WaitForLineAsync(child, "client", TimeSpan.FromMinutes(5));
            await WaitForCountAsync(server, 0);
            Snapshot closed = Snapshot.Take();
            await child.StandardInput.WriteLineAsync("exit");
            await child.StandardInput.FlushAsync();
            await child.WaitForExitAsync();

            Console.WriteLine($"server  live heap after all closed vs before: {closed.Heap - before.Heap:+#;-#;0} B");
            Console.WriteLine(clientReport);
            return 0;
        }
        finally
        {
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
        bool exchange = args.Length > 6 && args[6] == "exchange";
        var server = new IPEndPoint(IPAddress.Loopback, port);
        DtlsClientOptions options = credentials.ClientOptions(kind);

        for (int i = 0; i < warmup; i++)
        {
            await using DtlsClientChannel warm = await ConnectAsync(server, options, i);
        }

        Console.WriteLine("warm");
        await Console.In.ReadLineAsync(); // go
        Snapshot before = Snapshot.Take();
        var clients = new List<DtlsClientChannel>(n);
        for (int i = 0; i < n; i++)
        {
            DtlsClientChannel client = await ConnectAsync(server, options, warmup + i);
            if (exchange)
            {
                await client.SendAsync(new byte[] { 0x40 }, client.RemoteEndPoint, CancellationToken.None);
            }

            clients.Add(client);
        }

        Snapshot after = Snapshot.Take();
        Console.WriteLine($"ready {n}");
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

        Console.WriteLine($"client  live managed heap per connection : {(after.Heap - before.Heap) / (double)n,10:F0} B; " +
            $"allocated per handshake {(after.Allocated - before.Allocated) / (double)n:F0} B; VmRSS per connection {(after.Rss - before.Rss) / (double)n:F0} B; " +
            $"CPU per handshake {(after.Cpu - before.Cpu).TotalMilliseconds * 1000 / n:F0} us");
        await Console.In.ReadLineAsync(); // exit
        return 0;
    }

    /// <summary>
    /// DTLS_MEMORY_PORTS=P binds the server to 127.0.0.1:P and client i to P + 1 + i instead of ephemeral ports, for machines
    /// whose ephemeral range other processes have used up.
    /// </summary>
    private static int? PortBase() =>
        int.TryParse(Environment.GetEnvironmentVariable("DTLS_MEMORY_PORTS"), CultureInfo.InvariantCulture, out int port) ? port : null;

    private static Task<DtlsClientChannel> ConnectAsync(IPEndPoint server, DtlsClientOptions options, int index) =>
        PortBase() is { } first
            ? DtlsClientChannel.ConnectAsync(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, first + 1 + index), options.PathMtu), server, options,
                CancellationToken.None)
            : DtlsClientChannel.ConnectAsync(server, options, CancellationToken.None);

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

    private static async Task WaitForCountAsync(DtlsServerChannel server, int count)
    {
        var deadline = Stopwatch.StartNew();
        while (server.ConnectionCount != count)
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(2))
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
