using System.Globalization;
using System.Security.Cryptography;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>loop OP ITERATIONS</c>: runs one hot path ITERATIONS times after a fixed warm-up, for
/// <c>valgrind --tool=callgrind</c>. Instructions per operation = (Ir(N) - Ir(0)) / N, which does not
/// depend on the load of the machine (run with DOTNET_TieredCompilation=0 so both runs JIT the same code).
/// OP: encode | decode | validate | decode-block | server-get | server-get-static | server-post | csr-before | csr-after | seal-ccm8-64 | open-ccm8-64 | seal-ccm8-1024 | open-ccm8-1024 |
/// seal-gcm-64 | open-gcm-64 | seal-gcm-1024 | open-gcm-1024.
/// Prints the managed bytes allocated per operation as well; a fourth argument <c>types</c> adds a sampled breakdown by type.
/// </summary>
internal static class HotLoopMode
{
    public static int Run(string[] args)
    {
        string op = args[1];
        int iterations = int.Parse(args[2], CultureInfo.InvariantCulture);
        Func<int> body = Create(op);
        for (int i = 0; i < 1000; i++)
        {
            body();
        }

        using AllocationSampler? sampler = args.Length > 3 && args[3] == "types" ? new AllocationSampler() : null;
        sampler?.Start();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        TimeSpan paused = GC.GetTotalPauseDuration();
        int[] collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        int sink = 0;
        for (int i = 0; i < iterations; i++)
        {
            sink += body();
        }

        TimeSpan elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        long perOp = iterations == 0 ? 0 : (GC.GetAllocatedBytesForCurrentThread() - allocated) / iterations;
        Console.WriteLine($"{op}: {iterations} iterations, {perOp} B allocated/op (sink {sink})");
        if (iterations > 0)
        {
            // Wall-clock figures: indicative only on a shared machine.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {elapsed.TotalNanoseconds / iterations:F0} ns/op wall, of which GC pauses {(GC.GetTotalPauseDuration() - paused).TotalNanoseconds / iterations:F0} ns/op; " +
                $"gen0/1/2 collections {GC.CollectionCount(0) - collections[0]}/{GC.CollectionCount(1) - collections[1]}/{GC.CollectionCount(2) - collections[2]}"));
        }
        if (sampler is not null)
        {
            // Sampled: the share of the bytes, times the measured total, is an estimate per type.
            foreach (var (type, share) in sampler.Stop())
            {
                Console.WriteLine($"  {share * perOp,7:F0} B/op  {share,6:P1}  {type}");
            }
        }

        return 0;
    }

    private static Func<int> Create(string op)
    {
        var codec = new CodecBenchmarks();
        codec.Setup();
        byte[] buffer = new byte[1280];
        switch (op)
        {
            case "encode":
                return codec.EncodeRequestIntoBuffer;
            case "decode":
                return () => codec.DecodeRequest()!.MessageId;
            case "validate":
                return () => (int)codec.ValidateRequest();
            case "decode-block":
                return () => codec.DecodeBlockResponse()!.MessageId;
            case "server-get" or "server-get-static" or "server-post":
                // One request through the whole server path (ServerRequestBenchmarks), on this thread.
                var server = new ServerRequestBenchmarks();
                server.Setup();
                return op switch
                {
                    "server-get" => server.GetTime,
                    "server-get-static" => server.GetStatic,
                    _ => server.Post,
                };
            case "csr-before" or "csr-after":
                // The PKCS#10 work of one /sen before and after the single-parse refactor (CsrParseBenchmarks).
                var csr = new CsrParseBenchmarks();
                csr.Setup();
                return op == "csr-before" ? csr.FourDecodesTwoVerifications : csr.DecodeOnceVerifyOnce;
        }

        string[] parts = op.Split('-');
        CipherSuite suite = parts[1] == "gcm" ? CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 : CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
        var record = new DtlsRecordBenchmarks { Suite = suite, Size = int.Parse(parts[2], CultureInfo.InvariantCulture), CidLength = 0 };
        record.Setup();
        return parts[0] switch
        {
            "seal" => record.Seal,
            "open" => () => record.Open() ? 1 : 0,
            _ => throw new ArgumentException("Unknown op " + op),
        };
    }
}
