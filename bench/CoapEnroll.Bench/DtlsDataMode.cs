using System.Diagnostics;
using System.Globalization;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>dtls-data N [ccm8|gcm] [cid|nocid] [size]</c>: N echo round trips of application data through one
/// established session (<see cref="DtlsSessionPair"/>), client and server in this process. Reports managed
/// bytes allocated per round trip (all threads, stable between runs), process CPU per round trip and round
/// trips/s by the wall clock (both noisy on a loaded machine).
/// </summary>
internal static class DtlsDataMode
{
    public static async Task<int> RunAsync(string[] args)
    {
        int n = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        CipherSuite suite = args.Length > 2 && args[2].Equals("gcm", StringComparison.OrdinalIgnoreCase)
            ? CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            : CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
        bool cid = args.Length <= 3 || !args[3].Equals("nocid", StringComparison.OrdinalIgnoreCase);
        int size = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 64;

        await using DtlsSessionPair pair = await DtlsSessionPair.CreateAsync(suite, cid, size);
        for (int i = 0; i < Math.Min(n, 2000); i++)
        {
            await pair.RoundTripAsync();
        }

        GC.Collect();
        int gen0 = GC.CollectionCount(0);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        TimeSpan cpu = ProcessStats.CpuTime(Environment.ProcessId);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            await pair.RoundTripAsync();
        }

        clock.Stop();
        TimeSpan cpuUsed = ProcessStats.CpuTime(Environment.ProcessId) - cpu;
        long allocatedUsed = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dtls-data suite={suite} cid={cid} size={size} n={n}: {allocatedUsed / (double)n:F0} B allocated/round trip, " +
            $"{cpuUsed.TotalMilliseconds * 1000 / n:F1} us CPU/round trip, {n / clock.Elapsed.TotalSeconds:F0} round trips/s (wall), " +
            $"gen0 {GC.CollectionCount(0) - gen0}"));
        return 0;
    }
}
