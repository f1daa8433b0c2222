using System.Diagnostics;
using System.Globalization;
using System.Net;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Transport;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>dtls-handshakes N [ecdhe|ecdhemutual|psk] [parallel]</c>: N full handshakes (connect, then close_notify)
/// over loopback from <c>parallel</c> concurrent workers, client and server in this process. Reports
/// handshakes/s by the wall clock and process CPU time per handshake (client + server), which is far
/// less sensitive to other load on the machine than the wall clock.
/// </summary>
internal static class DtlsHandshakeMode
{
    public static async Task<int> RunAsync(string[] args)
    {
        int n = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 500;
        HandshakeKind kind = args.Length > 2 ? Enum.Parse<HandshakeKind>(args[2], ignoreCase: true) : HandshakeKind.Ecdhe;
        int parallel = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1;

        using DtlsTestCredentials credentials = DtlsTestCredentials.Create();
        await using DtlsServerChannel server = CreateServer(credentials.ServerOptions());
        var address = (IPEndPoint)server.LocalEndPoint;
        DtlsClientOptions options = credentials.ClientOptions(kind);

        await RunBatchAsync(address, options, Math.Min(50, n), parallel); // warm-up (JIT, OpenSSL)
        GC.Collect();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        TimeSpan cpu = ProcessStats.CpuTime(Environment.ProcessId);
        var clock = Stopwatch.StartNew();
        await RunBatchAsync(address, options, n, parallel);
        clock.Stop();
        TimeSpan cpuUsed = ProcessStats.CpuTime(Environment.ProcessId) - cpu;
        long allocatedUsed = GC.GetTotalAllocatedBytes(precise: true) - allocated;

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dtls-handshakes kind={kind} n={n} parallel={parallel}: {n / clock.Elapsed.TotalSeconds:F0} handshakes/s (wall), " +
            $"{cpuUsed.TotalMilliseconds * 1000 / n:F0} us CPU/handshake (client+server), {allocatedUsed / (double)n / 1024:F1} KiB allocated/handshake (client+server)"));
        return 0;
    }

    /// <summary>A DTLS server on a fresh loopback UDP port.</summary>
    public static DtlsServerChannel CreateServer(DtlsServerOptions options)
    {
        IDatagramChannel transport = UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), options.PathMtu);
        return new DtlsServerChannel(transport, options);
    }

    private static async Task RunBatchAsync(IPEndPoint address, DtlsClientOptions options, int n, int parallel)
    {
        int next = 0;
        var workers = new Task[parallel];
        for (int w = 0; w < parallel; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) <= n)
                {
                    await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(address, options, CancellationToken.None);
                }
            });
        }

        await Task.WhenAll(workers);
    }
}
