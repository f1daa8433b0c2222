using System.Net;
using BenchmarkDotNet.Attributes;
using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>Request/response round trips through the whole stack over UDP loopback.</summary>
[MemoryDiagnoser]
public class LoopbackBenchmarks
{
    private CoapServer _server = null!;
    private CoapClient _client = null!;
    private IPEndPoint _serverAddress = null!;
    private CoapMessage _get = null!;

    [Params(1, 16)]
    public int Concurrency { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _server = new CoapServer();
        byte[] body = new byte[64];
        _server.MapGet("/bench", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content, Payload = body }));
        var endpoint = _server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        _serverAddress = (IPEndPoint)endpoint.LocalEndPoint;
        _client = new CoapClient(
            UdpDatagramChannel.BindEphemeralFor(_serverAddress),
            new CoapClientOptions { Endpoint = { NStart = 64 } });
        _get = CoapMessage.CreateRequest(CoapCode.Get, "/bench");
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Benchmark(OperationsPerInvoke = 64)]
    public async Task RoundTrips()
    {
        // 64 requests per invocation, Concurrency of them in flight at a time.
        var workers = new Task[Concurrency];
        int perWorker = 64 / Concurrency;
        for (int w = 0; w < Concurrency; w++)
        {
            workers[w] = RunAsync(perWorker);
        }

        await Task.WhenAll(workers);
    }

    private async Task RunAsync(int count)
    {
        for (int i = 0; i < count; i++)
        {
            var response = await _client.SendAsync(_get, _serverAddress, CancellationToken.None);
            if (response.Code != CoapCode.Content)
            {
                throw new InvalidOperationException(response.ToString());
            }
        }
    }
}
