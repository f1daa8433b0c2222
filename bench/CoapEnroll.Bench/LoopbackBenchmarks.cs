using System.Net;
using BenchmarkDotNet.Attributes;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Bench;

/// <summary>Request/response round trips through the whole stack over UDP loopback.</summary>
/// <remarks>
/// RFC 7252 §4.4 lets one peer use each of its 65536 message IDs once per EXCHANGE_LIFETIME (247 s by
/// default): about 265 requests a second. A benchmark that runs faster than that must shorten
/// EXCHANGE_LIFETIME on both sides, which MAX_LATENCY = 1 s and MAX_RETRANSMIT = 1 do (legitimate on
/// loopback: 7 s), and spread the load over several client endpoints, as real deployments do.
/// </remarks>
[MemoryDiagnoser]
public class LoopbackBenchmarks
{
    private CoapServer _server = null!;
    private const int Clients = 8;
    private CoapClient[] _clients = null!;
    private IPEndPoint _serverAddress = null!;
    private CoapMessage _get = null!;

    [Params(1, 16)]
    public int Concurrency { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _server = new CoapServer(new CoapServerOptions { Endpoint = LoopbackParameters() });
        byte[] body = new byte[64];
        _server.MapGet("/bench", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content, Payload = body }));
        var endpoint = _server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        _serverAddress = (IPEndPoint)endpoint.LocalEndPoint;
        _clients = new CoapClient[Clients];
        for (int i = 0; i < Clients; i++)
        {
            var parameters = LoopbackParameters();
            parameters.NStart = 64;
            _clients[i] = new CoapClient(UdpDatagramChannel.BindEphemeralFor(_serverAddress), new CoapClientOptions { Endpoint = parameters });
        }
        _get = CoapMessage.CreateRequest(CoapCode.Get, "/bench");
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

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
            workers[w] = RunAsync(_clients[w % Clients], perWorker);
        }

        await Task.WhenAll(workers);
    }

    private static CoapEndpointOptions LoopbackParameters() => new() { MaxLatency = TimeSpan.FromSeconds(1), MaxRetransmit = 1 };

    private int _round;

    private async Task RunAsync(CoapClient fixedClient, int count)
    {
        // With one worker, rotate through the clients so no single peer exceeds its message-ID budget.
        var client = Concurrency == 1 ? _clients[_round++ % Clients] : fixedClient;
        for (int i = 0; i < count; i++)
        {
            var response = await client.SendAsync(_get, _serverAddress, CancellationToken.None);
            if (response.Code != CoapCode.Content)
            {
                throw new InvalidOperationException(response.ToString());
            }
        }
    }
}
