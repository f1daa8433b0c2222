using System.Collections.Concurrent;
using System.Net;
using CoapEnroll.Coap.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Coap.Tests.Reliability;

/// <summary>
/// RFC 7252 §4.2–§4.5 and §5.2.2 under loss, duplication, reordering and delay on the simulated
/// network. Loss is random (seeded) but capped per datagram, so every exchange is bound to complete
/// within MAX_RETRANSMIT whatever the thread interleaving: the tests do not rely on luck.
/// </summary>
public class ReliabilityTests
{
    private readonly SimulatedNetwork _network = new();
    private readonly ConcurrentDictionary<string, int> _handled = new();

    private CoapServer StartEchoServer(out EndPoint address, CoapEndpointOptions? options = null, Func<Task>? gate = null)
    {
        var server = new CoapServer(new CoapServerOptions { Endpoint = options ?? new CoapEndpointOptions() });
        server.MapPost("/echo", async (ctx, ct) =>
        {
            _handled.AddOrUpdate(ctx.Request.PayloadText, 1, (_, n) => n + 1);
            if (gate is not null)
            {
                await gate();
            }

            return new CoapMessage { Code = CoapCode.Changed }.WithPayload("echo:" + ctx.Request.PayloadText);
        });
        address = server.Listen(_network.CreateChannel()).LocalEndPoint;
        return server;
    }

    private static CoapMessage Post(string payload, CoapMessageType type = CoapMessageType.Confirmable)
        => CoapMessage.CreateRequest(CoapCode.Post, "/echo", type).WithPayload(payload);

    [Fact]
    public async Task ManyConRequests_ThroughLossDuplicationAndReordering_EachCompletesAndIsHandledOnce()
    {
        const int Clients = 4;
        const int PerClient = 50;
        var fast = new CoapEndpointOptions { AckTimeout = TimeSpan.FromMilliseconds(30), MaxRetransmit = 8, NStart = 4 };
        await using var server = StartEchoServer(out var address, fast);

        var clients = new List<CoapClient>();
        for (int c = 0; c < Clients; c++)
        {
            var channel = _network.CreateChannel();
            _network.SetPlanBothWays(channel.LocalEndPoint, address, new FaultPlan
            {
                Seed = 1000 + (10 * c),
                DropProbability = 0.25,
                MaxDropsPerDatagram = 2,
                DuplicateProbability = 0.15,
                ReorderProbability = 0.15,
                DelayProbability = 0.1,
                Delay = TimeSpan.FromMilliseconds(5),
            });
            clients.Add(new CoapClient(channel, new CoapClientOptions { Endpoint = fast }));
        }

        try
        {
            var requests = new List<Task<(string Payload, CoapMessage Response)>>();
            for (int c = 0; c < Clients; c++)
            {
                for (int i = 0; i < PerClient; i++)
                {
                    var client = clients[c];
                    string payload = $"c{c}-r{i}";
                    requests.Add(Task.Run(async () => (payload, await client.SendAsync(Post(payload), address, default))));
                }
            }

            var results = await Task.WhenAll(requests).Bounded(TimeSpan.FromSeconds(30));

            foreach (var (payload, response) in results)
            {
                Assert.Equal(CoapCode.Changed, response.Code);
                Assert.Equal("echo:" + payload, response.PayloadText);
            }

            Assert.Equal(Clients * PerClient, _handled.Count);
            Assert.All(_handled, pair => Assert.Equal(1, pair.Value));

            // The faults really happened, in both directions.
            var trace = _network.Trace;
            Assert.Contains(trace, d => d.Fate.HasFlag(DatagramFate.Dropped) && d.To.Equals(address));
            Assert.Contains(trace, d => d.Fate.HasFlag(DatagramFate.Dropped) && d.From.Equals(address));
            Assert.Contains(trace, d => d.Fate.HasFlag(DatagramFate.Duplicated) && d.To.Equals(address));
            Assert.Contains(trace, d => d.Fate.HasFlag(DatagramFate.Reordered) && d.From.Equals(address));
            Assert.DoesNotContain(trace, d => d.Data.Length < 4);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task NonRequests_DuplicatedAndReordered_AreNeverProcessedTwice()
    {
        await using var server = StartEchoServer(out var address);
        var channel = _network.CreateChannel();
        _network.SetPlanBothWays(channel.LocalEndPoint, address, new FaultPlan { Seed = 7, DuplicateProbability = 1, ReorderProbability = 0.3, DelayProbability = 0.2 });
        await using var client = new CoapClient(channel, new CoapClientOptions { Endpoint = { NStart = 4 } });

        var requests = Enumerable.Range(0, 60).Select(i => client.SendAsync(Post($"non-{i}", CoapMessageType.NonConfirmable), address, default)).ToList();
        var responses = await Task.WhenAll(requests).Bounded();

        Assert.All(responses, r => Assert.Equal(CoapMessageType.NonConfirmable, r.Type));
        Assert.Equal(60, _handled.Count);
        Assert.All(_handled, pair => Assert.Equal(1, pair.Value));

        // Every request arrived twice, and the server answered each once (§4.5: duplicates silently ignored).
        await TestWait.UntilAsync(() => _network.Find(d => d.From.Equals(address)).Count >= 60, "the responses");
        Assert.Equal(60, _network.Find(d => d.From.Equals(address)).Count);
        Assert.DoesNotContain(_network.Trace, d => d.Data.Length < 4);
    }

    [Fact]
    public async Task DuplicatedConRequestAfterTheResponse_GetsTheSameCachedBytes()
    {
        await using var server = StartEchoServer(out var address);
        await using var raw = _network.CreateChannel();

        byte[] request = CoapMessageEncoder.Encode(Post("once") with { MessageId = 0x1111, Token = new byte[] { 0xAB } });
        await raw.SendRawAsync(request, address);
        var first = await raw.TryReceiveAsync(TestWait.Generous) ?? throw new TimeoutException();
        await raw.SendRawAsync(request, address);
        await raw.SendRawAsync(request, address);
        var second = await raw.TryReceiveAsync(TestWait.Generous) ?? throw new TimeoutException();
        var third = await raw.TryReceiveAsync(TestWait.Generous) ?? throw new TimeoutException();

        Assert.Equal(first.Data, second.Data);
        Assert.Equal(first.Data, third.Data);
        var response = CoapMessageDecoder.Decode(first.Data);
        Assert.Equal((CoapMessageType.Acknowledgement, (ushort)0x1111, "echo:once"), (response.Type, response.MessageId, response.PayloadText));
        Assert.Equal(1, _handled["once"]);
    }

    [Fact]
    public async Task DuplicatedConRequest_ThroughTheClient_OneHandlerRunAndTheClientSeesOneResponse()
    {
        await using var server = StartEchoServer(out var address);
        var channel = _network.CreateChannel();

        // Every request is delivered twice, both copies 20 ms late; the second is a duplicate of a request already answered.
        _network.SetPlan(channel.LocalEndPoint, address, new FaultPlan { DuplicateProbability = 1, DelayProbability = 1, Delay = TimeSpan.FromMilliseconds(20) });
        await using var client = new CoapClient(channel);

        for (int i = 0; i < 5; i++)
        {
            var response = await client.SendAsync(Post($"dup-{i}"), address, default).Bounded();
            Assert.Equal($"echo:dup-{i}", response.PayloadText);
        }

        await TestWait.UntilAsync(() => _network.Find(d => d.From.Equals(address)).Count >= 10, "an answer to every copy");
        var answers = _network.Find(d => d.From.Equals(address)).GroupBy(d => d.Message!.MessageId).ToList();
        Assert.Equal(5, answers.Count);
        Assert.All(answers, g => Assert.Equal(g.First().Data, g.Last().Data));
        Assert.All(_handled, pair => Assert.Equal(1, pair.Value));
    }

    [Fact]
    public async Task SeparateResponse_WithItsAcksAndItsConsLost_CompletesExactlyOnce()
    {
        var serverOptions = new CoapEndpointOptions
        {
            SeparateResponseDelay = TimeSpan.FromMilliseconds(20),
            AckTimeout = TimeSpan.FromMilliseconds(30),
            MaxRetransmit = 6,
        };
        // The handler finishes only once the server has given up waiting and sent its empty ACK, so the
        // response is separate however late the timers fire on a loaded machine.
        EndPoint? serverAddress = null;
        await using var server = StartEchoServer(out var address, serverOptions, gate: () => TestWait.UntilAsync(
            () => _network.Find(d => d.From.Equals(serverAddress) && d.Message is { Type: CoapMessageType.Acknowledgement, IsEmpty: true }).Count > 0,
            "the server's empty ACK"));
        serverAddress = address;
        var channel = _network.CreateChannel();

        // Server → client: the empty ACK and the separate CON response each lost twice.
        _network.SetPlan(address, channel.LocalEndPoint, new FaultPlan
        {
            DropWhen = (data, earlier) => earlier < 2 && CoapMessageDecoder.Decode(data) is var m
                && ((m.Type == CoapMessageType.Acknowledgement && m.IsEmpty) || (m.Type == CoapMessageType.Confirmable && m.IsResponse)),
        });

        // Client → server: the first request and the first ACK of the separate response lost.
        _network.SetPlan(channel.LocalEndPoint, address, new FaultPlan
        {
            DropWhen = (data, earlier) => earlier < 1 && CoapMessageDecoder.Decode(data) is var m
                && (m.IsRequest || m.Type == CoapMessageType.Acknowledgement),
        });
        await using var client = new CoapClient(channel, new CoapClientOptions { Endpoint = { AckTimeout = TimeSpan.FromMilliseconds(30), MaxRetransmit = 6 } });

        var response = await client.SendAsync(Post("slow"), address, default).Bounded();

        Assert.Equal("echo:slow", response.PayloadText);
        Assert.Equal(CoapMessageType.Confirmable, response.Type);
        Assert.Equal(1, _handled["slow"]);

        // The server retransmitted its separate response until the (re-sent, cached) ACK got through.
        await TestWait.UntilAsync(
            () => _network.Find(d => d.From.Equals(channel.LocalEndPoint) && d.Message is { Type: CoapMessageType.Acknowledgement } && !d.Fate.HasFlag(DatagramFate.Dropped)).Count == 1,
            "the client's second ACK");
        var separate = _network.Find(d => d.From.Equals(address) && d.Message is { Type: CoapMessageType.Confirmable });
        Assert.True(separate.Count >= 4, string.Join('\n', _network.Trace));
        Assert.Single(separate.Select(d => d.Message!.MessageId).Distinct());
        Assert.Equal(1, _handled["slow"]);
    }

    [Fact]
    public async Task UnansweredCon_IsSentOncePlusMaxRetransmitTimes_WithExponentialBackOff_ThenTimesOut()
    {
        var time = new ManualTimeProvider();
        var network = new SimulatedNetwork(time);
        var options = new CoapEndpointOptions { AckTimeout = TimeSpan.FromSeconds(2), AckRandomFactor = 1.5, MaxRetransmit = 4 };

        // Not started: no receive loop and no sweep timer, so the only timers are the retransmission timeouts.
        await using var endpoint = new CoapEndpoint(network.CreateChannel(), options, timeProvider: time);
        await using var silent = network.CreateChannel();

        var sending = endpoint.SendConfirmableAsync(CoapMessage.CreateRequest(CoapCode.Get, "/void") with { MessageId = 0x0F0F }, silent.LocalEndPoint, default);
        while (!sending.IsCompleted)
        {
            await TestWait.UntilAsync(() => time.ArmedOneShotTimers > 0 || sending.IsCompleted, "the next retransmission timeout");
            if (!sending.IsCompleted)
            {
                time.AdvanceToNextTimer();
            }
        }

        var ex = await Assert.ThrowsAsync<CoapProtocolException>(() => sending);
        Assert.Equal(CoapError.Timeout, ex.Error);

        var sends = network.Find(d => d.To.Equals(silent.LocalEndPoint));
        Assert.Equal(1 + options.MaxRetransmit, sends.Count);
        Assert.All(sends, d => Assert.Equal(0x0F0F, d.Message!.MessageId));
        Assert.All(sends, d => Assert.Equal(sends[0].Data, d.Data));

        // §4.2: the first timeout is random in [ACK_TIMEOUT, ACK_TIMEOUT × ACK_RANDOM_FACTOR], then doubles.
        // (Task.WaitAsync hands its timer whole milliseconds, hence the 1 ms of slack.)
        var ms = TimeSpan.FromMilliseconds(1);
        var initial = sends[1].Time - sends[0].Time;
        Assert.InRange(initial, options.AckTimeout - ms, (options.AckTimeout * options.AckRandomFactor) + ms);
        var intervals = sends.Skip(1).Select((d, i) => d.Time - sends[i].Time).Append(time.Elapsed - sends[^1].Time).ToList();
        for (int i = 1; i < intervals.Count; i++)
        {
            Assert.InRange(intervals[i], (2 * intervals[i - 1]) - ms, (2 * intervals[i - 1]) + ms);
        }

        // The last entry is the wait after the last retransmission, one more doubled timeout before
        // giving up: in all MAX_TRANSMIT_WAIT at most (§4.8.2).
        Assert.Equal(1 + options.MaxRetransmit, intervals.Count);
        Assert.True(time.Elapsed <= options.MaxTransmitWait + ms);
    }

    [Fact]
    public async Task ResetToACon_FailsTheRequestWithReset()
    {
        await using var client = new CoapClient(_network.CreateChannel());
        await using var raw = _network.CreateChannel();

        var pending = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/r"), raw.LocalEndPoint, default);
        var request = await raw.ReceiveMessageAsync(TestWait.Generous);
        await raw.SendMessageAsync(CoapMessage.CreateEmpty(CoapMessageType.Reset, request.MessageId), client.Endpoint.LocalEndPoint);

        var ex = await Assert.ThrowsAsync<CoapProtocolException>(() => pending.Bounded());
        Assert.Equal(CoapError.Reset, ex.Error);
    }

    [Fact]
    public async Task ResetToAnotherMid_DoesNotFailTheRequest()
    {
        await using var client = new CoapClient(_network.CreateChannel(), new CoapClientOptions { Endpoint = { AckTimeout = TimeSpan.FromMilliseconds(50) } });
        await using var raw = _network.CreateChannel();

        var pending = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/r"), raw.LocalEndPoint, default);
        var request = await raw.ReceiveMessageAsync(TestWait.Generous);
        await raw.SendMessageAsync(CoapMessage.CreateEmpty(CoapMessageType.Reset, (ushort)(request.MessageId + 1)), client.Endpoint.LocalEndPoint);
        await raw.SendMessageAsync(new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Content, MessageId = request.MessageId, Token = request.Token }.WithPayload("ok"), client.Endpoint.LocalEndPoint);

        Assert.Equal("ok", (await pending.Bounded()).PayloadText);
    }
}
