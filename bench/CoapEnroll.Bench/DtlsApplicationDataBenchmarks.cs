using BenchmarkDotNet.Attributes;
using CoapEnroll.Dtls;

namespace CoapEnroll.Bench;

/// <summary>
/// Application data through an established session over UDP loopback (<see cref="DtlsSessionPair"/>): one
/// operation is a client → server → client echo, so the record layer seals two records and opens two, both
/// channels queue one datagram each, and with a CID the server looks up the connection by CID once. Client,
/// server and the sockets' receive loops are all in this process, so the allocation column counts all of it.
/// </summary>
[MemoryDiagnoser]
public class DtlsApplicationDataBenchmarks
{
    private DtlsSessionPair _pair = null!;

    [Params(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)]
    public CipherSuite Suite { get; set; }

    [Params(false, true)]
    public bool Cid { get; set; }

    [Params(64)]
    public int Size { get; set; }

    // BenchmarkDotNet's in-process toolchain does not await an async [GlobalSetup] (the field stayed null): wait here.
    [GlobalSetup]
    public void Setup() => _pair = DtlsSessionPair.CreateAsync(Suite, Cid, Size).GetAwaiter().GetResult();

    [GlobalCleanup]
    public async Task Cleanup() => await _pair.DisposeAsync();

    [Benchmark(OperationsPerInvoke = 16)]
    public async Task EchoRoundTrip()
    {
        for (int i = 0; i < 16; i++)
        {
            await _pair.RoundTripAsync();
        }
    }
}
