using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Dtls;
using CoapEnroll.Est;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>registrar-cost COAPENROLL_DLL [--rounds R] [--count N]</c> (bench/REPORT.md section 11): what a registrar in front of the CA adds
/// to one complete EST-coaps enrollment (DTLS handshake with the demo device identity, /crts, /sen with a new P-256 key, in one
/// session). Three serves with shipped defaults (fresh data, free ports): B1, a CA the device enrolls at directly; B2, the same
/// CA again; A, <c>serve --upstream-est https://B2 --upstream-cert RA.pem --upstream-key RA.key --upstream-trust B2's anchor</c>
/// with a registrar certificate from <c>coapenroll ca registrar --data B2</c>. Two CAs so that the device's name is held by one
/// requester in each. Rounds alternate direct and through A (N enrollments each, one after another) after N warm-ups each;
/// per enrollment: wall time at the device, and server CPU (user + system, /proc) of B1, or of A and B2.
/// </summary>
internal static class RegistrarCostMode
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: registrar-cost COAPENROLL_DLL [--rounds R] [--count N]");
            return 2;
        }

        string dll = Path.GetFullPath(args[1]);
        int rounds = Option(args, "--rounds", 3);
        int count = Option(args, "--count", 20);

        await using ServerUnderTest direct = await ServerUnderTest.StartServeAsync(dll, psk: false);
        await using ServerUnderTest upstream = await ServerUnderTest.StartServeAsync(dll, psk: false);
        string raDirectory = Directory.CreateTempSubdirectory("coapenroll-ra-").FullName;
        try
        {
            string ra = Path.Combine(raDirectory, "ra.pem"), raKey = Path.Combine(raDirectory, "ra.key");
            await RunCliAsync(dll, "ca", "registrar", "--data", upstream.DataDirectory!, "--subject", "CN=bench-registrar", "--out", ra, "--key-out", raKey);
            await using ServerUnderTest registrar = await ServerUnderTest.StartServeAsync(dll, psk: false, scenarioArguments:
            [
                "--upstream-est", $"https://127.0.0.1:{upstream.HttpsPort}", "--upstream-cert", ra, "--upstream-key", raKey,
                "--upstream-trust", Path.Combine(upstream.DataDirectory!, "trust-anchor.pem"),
            ]);

            DtlsClientOptions directDevice = await EnrollmentProbe.LoadDemoDeviceAsync(direct.DataDirectory!);
            DtlsClientOptions registrarDevice = await EnrollmentProbe.LoadDemoDeviceAsync(registrar.DataDirectory!);
            Console.WriteLine($"# registrar-cost  {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}  rounds={rounds} count={count}  load average at start: {LoadAverage()}");
            Console.WriteLine($"# B1: {direct.CommandLine}");
            Console.WriteLine($"# A:  {registrar.CommandLine}");

            // The device's certificate must chain to the anchor of the CA that issued it: B1's directly, B2's through A (A has a CA
            // of its own that would chain to A's anchor had it issued locally).
            X509Certificate2 directAnchor = Anchor(direct), upstreamAnchor = Anchor(upstream);
            await MeasureAsync(direct.CoapsEndPoint, directDevice, count, [], directAnchor);
            await MeasureAsync(registrar.CoapsEndPoint, registrarDevice, count, [], upstreamAnchor);

            var directMs = new List<double>();
            var viaMs = new List<double>();
            double directCpu = 0, viaCpuA = 0, viaCpuB = 0;
            for (int round = 0; round < rounds; round++)
            {
                TimeSpan b1 = ProcessStats.CpuTime(direct.Pid);
                await MeasureAsync(direct.CoapsEndPoint, directDevice, count, directMs, directAnchor);
                directCpu += (ProcessStats.CpuTime(direct.Pid) - b1).TotalMilliseconds;

                TimeSpan a = ProcessStats.CpuTime(registrar.Pid), b2 = ProcessStats.CpuTime(upstream.Pid);
                await MeasureAsync(registrar.CoapsEndPoint, registrarDevice, count, viaMs, upstreamAnchor);
                viaCpuA += (ProcessStats.CpuTime(registrar.Pid) - a).TotalMilliseconds;
                viaCpuB += (ProcessStats.CpuTime(upstream.Pid) - b2).TotalMilliseconds;
            }

            int total = rounds * count;
            Console.WriteLine("| path | enrollments | median ms | p90 ms | CPU ms/enrollment, A | CPU ms/enrollment, CA | CPU ms/enrollment, total |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            Console.WriteLine(FormattableString.Invariant(
                $"| direct to the CA (B1) | {total} | {Percentile(directMs, 0.5):F1} | {Percentile(directMs, 0.9):F1} | - | {directCpu / total:F1} | {directCpu / total:F1} |"));
            Console.WriteLine(FormattableString.Invariant(
                $"| through registrar A to the CA (B2) | {total} | {Percentile(viaMs, 0.5):F1} | {Percentile(viaMs, 0.9):F1} | {viaCpuA / total:F1} | {viaCpuB / total:F1} | {(viaCpuA + viaCpuB) / total:F1} |"));
            Console.WriteLine(FormattableString.Invariant(
                $"# added by the registrar: median {Percentile(viaMs, 0.5) - Percentile(directMs, 0.5):F1} ms, server CPU {(viaCpuA + viaCpuB - directCpu) / total:F1} ms per enrollment"));
            Console.WriteLine($"# load average at end: {LoadAverage()}");
            return 0;
        }
        finally
        {
            Directory.Delete(raDirectory, recursive: true);
        }
    }

    private static X509Certificate2 Anchor(ServerUnderTest server) =>
        X509CertificateLoader.LoadCertificate(PemEncodingCertificate(File.ReadAllText(Path.Combine(server.DataDirectory!, "trust-anchor.pem"))));

    private static byte[] PemEncodingCertificate(string pem)
    {
        PemFields fields = PemEncoding.Find(pem);
        return Convert.FromBase64String(pem[fields.Base64Data]);
    }

    /// <summary>
    /// N complete enrollments one after another; each wall time in ms into <paramref name="times"/>. Throws on a failure or when
    /// an issued certificate does not chain (through the /crts answer) to <paramref name="anchor"/>; checked after the clock stops.
    /// </summary>
    private static async Task MeasureAsync(IPEndPoint coaps, DtlsClientOptions device, int count, List<double> times, X509Certificate2 anchor)
    {
        for (int i = 0; i < count; i++)
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            long start = Stopwatch.GetTimestamp();
            DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(coaps, device, limit.Token);
            await using (var est = new EstCoapsClient(channel))
            {
                X509Certificate2Collection cas = await est.GetCaCertificatesAsync(cancellationToken: limit.Token);
                using X509Certificate2 issued = await est.EnrollAsync(new X500DistinguishedName(EnrollmentProbe.Subject), key, cancellationToken: limit.Token);
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(anchor);
                chain.ChainPolicy.ExtraStore.AddRange(cas);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                if (!chain.Build(issued))
                {
                    throw new InvalidOperationException($"{issued.Subject} from {coaps} does not chain to {anchor.Subject} ({anchor.Thumbprint}).");
                }
            }
        }
    }

    private static async Task RunCliAsync(string dll, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(dll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(info)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"coapenroll {string.Join(' ', arguments)} exited {process.ExitCode}: {await output}{await error}");
        }
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Floor(p * sorted.Count))];
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}
