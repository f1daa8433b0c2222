using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using BenchmarkDotNet.Attributes;
using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>
/// One request through the whole server path, without a network: a datagram goes into an
/// <see cref="InMemoryDatagramChannel"/>, through CoapEndpoint (decode, duplicate detection), the block-wise and
/// observe layers, the router and the handler, and its reply is encoded and sent back to the channel; all of it
/// synchronously on the benchmark thread, so [MemoryDiagnoser] sees every byte the server allocates per request.
/// Every request is new to the server: the message ID counts up and the peer changes each 65,536 requests. The
/// server's clock is virtual and advances 0.1 ms per request, as if it served 10,000 requests a second (about what
/// coap-compare sees), whatever the machine's speed: with the loopback parameters (EXCHANGE_LIFETIME 7 s) the
/// duplicate-detection cache holds a steady ~70,000 entries, and the endpoint's sweep (every 0.4 s) runs every
/// 4,000 requests, on a pool thread, as in a real server.
/// </summary>
[MemoryDiagnoser]
public class ServerRequestBenchmarks
{
    private const int PeerCount = 16;

    /// <summary>The request rate the virtual clock is advanced for.</summary>
    private const int RequestsPerVirtualSecond = 10_000;

    private static readonly byte[] Token = [0xA1, 0xB2, 0xC3, 0xD4];

    private readonly SteppedTimeProvider _time = new();
    private readonly IPEndPoint[] _peers = new IPEndPoint[PeerCount];
    private InMemoryDatagramChannel _channel = null!;
    private CoapServer _server = null!;
    private byte[] _getTime = null!;
    private byte[] _getStatic = null!;
    private byte[] _post = null!;
    private ushort _messageId;
    private int _peer;

    /// <summary>The server with the resources the benchmarks call, listening on an in-memory channel.</summary>
    [GlobalSetup]
    public void Setup()
    {
        for (int i = 0; i < PeerCount; i++)
        {
            _peers[i] = new IPEndPoint(IPAddress.Loopback, 40000 + i);
        }

        _server = new CoapServer(new CoapServerOptions { Endpoint = CoapCompareMode.LoopbackParameters() }, timeProvider: _time);

        // As in coap-compare (libcoap's /time): Max-Age 1 and a 15-character text, built per request.
        _server.MapGet("/time", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }
            .SetUInt(CoapOptionNumber.MaxAge, 1)
            .WithPayload(DateTime.UtcNow.ToString("MMM dd HH:mm:ss", CultureInfo.InvariantCulture))));

        // A response built once: what the server path costs without the handler's own work.
        CoapMessage staticResponse = new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.TextPlain).WithPayload("hello");
        _server.MapGet("/static", (_, _) => ValueTask.FromResult(staticResponse));

        // A small POST: the handler reads the body and answers 2.04 without a payload.
        CoapMessage changed = new() { Code = CoapCode.Changed };
        CoapMessage badRequest = new() { Code = CoapCode.BadRequest };
        _server.MapPost("/data", (context, _) => ValueTask.FromResult(context.Request.Payload.Length == 32 ? changed : badRequest));

        _getTime = Request(CoapMessage.CreateRequest(CoapCode.Get, "/time"));
        _getStatic = Request(CoapMessage.CreateRequest(CoapCode.Get, "/static"));
        _post = Request(CoapMessage.CreateRequest(CoapCode.Post, "/data").WithContentFormat(CoapContentFormat.Json).WithPayload(new byte[32]));

        _channel = new InMemoryDatagramChannel();
        _server.Listen(_channel);
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!_channel.ReceivePending)
        {
            if (started.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException("The endpoint's receive loop did not start.");
            }

            Thread.Sleep(1);
        }

        Check(GetTime, CoapCode.Content);
        Check(GetStatic, CoapCode.Content);
        Check(Post, CoapCode.Changed);
    }

    [GlobalCleanup]
    public void Cleanup() => _server.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>CON GET /time, answered with Max-Age and a 15-byte text built by the handler.</summary>
    [Benchmark]
    public int GetTime() => Push(_getTime);

    /// <summary>CON GET /static, answered with a response the handler built once.</summary>
    [Benchmark(Baseline = true)]
    public int GetStatic() => Push(_getStatic);

    /// <summary>CON POST /data with Content-Format and a 32-byte body, answered 2.04 without a payload.</summary>
    [Benchmark]
    public int Post() => Push(_post);

    private static byte[] Request(CoapMessage request) => CoapMessageEncoder.Encode(request with { Token = Token });

    private int Push(byte[] datagram)
    {
        if (++_messageId == 0)
        {
            _peer = (_peer + 1) % PeerCount;
        }

        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), _messageId);
        _time.Advance(_time.TimestampFrequency / RequestsPerVirtualSecond);
        _channel.Deliver(datagram, _peers[_peer]);
        return _channel.LastSentLength;
    }

    private void Check(Func<int> benchmark, CoapCode expected)
    {
        long sent = _channel.SentCount;
        benchmark();
        if (_channel.SentCount != sent + 1)
        {
            throw new InvalidOperationException("The request was not answered synchronously.");
        }

        CoapMessage reply = CoapMessageDecoder.Decode(_channel.LastSent.ToArray());
        if (reply.Code != expected || reply.Type != CoapMessageType.Acknowledgement || !reply.Token.Span.SequenceEqual(Token))
        {
            throw new InvalidOperationException($"Unexpected reply {reply}.");
        }
    }
}
