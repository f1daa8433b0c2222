using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using CoapEnroll.Coap.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Coap.Tests.Endpoints;

/// <summary>
/// RFC 7252 §4 message-layer behaviour of <see cref="CoapEndpoint"/>, driven by raw datagrams over the
/// simulated network. Negative checks ("nothing is sent") are made by sending a ping afterwards: the
/// link is FIFO and the endpoint handles datagrams in order, so the ping's RST must be the next thing.
/// </summary>
public class MessageLayerTests
{
    private static readonly TimeSpan s_receive = TimeSpan.FromSeconds(5);

    private readonly SimulatedNetwork _network = new();

    private CoapServer StartServer(out EndPoint address, CoapEndpointOptions? options = null, Action<CoapServer>? map = null)
    {
        var server = new CoapServer(new CoapServerOptions { Endpoint = options ?? new CoapEndpointOptions() });
        server.MapGet("/a", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload("a")));
        map?.Invoke(server);
        address = server.Listen(_network.CreateChannel()).LocalEndPoint;
        return server;
    }

    private static async Task AssertNothingBeforePingAsync(SimulatedDatagramChannel raw, EndPoint target)
    {
        await raw.SendMessageAsync(CoapMessage.CreateEmpty(CoapMessageType.Confirmable, 0xBEEF), target);
        var next = await raw.ReceiveMessageAsync(s_receive);
        Assert.Equal((CoapMessageType.Reset, (ushort)0xBEEF), (next.Type, next.MessageId));
    }

    [Fact]
    public async Task NonRequests_BeyondEveryMessageId_AreNotAnswered_AndNoResponseWaitsForAnId()
    {
        // One peer sending NON requests faster than message IDs free up (65,536 per EXCHANGE_LIFETIME): the responses it
        // cannot be given an ID for are dropped at once, not held until one frees up (which held them without bound).
        var time = new ManualTimeProvider();
        var network = new SimulatedNetwork(time);
        using var meters = new MeterRecorder("CoapEnroll.Coap");
        await using var server = new CoapServer(timeProvider: time);
        server.MapGet("/a", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }));
        CoapEndpoint endpoint = server.Listen(network.CreateChannel());
        await using var raw = network.CreateChannel();
        static byte[] Non(int i) => CoapMessageEncoder.Encode(
            CoapMessage.CreateRequest(CoapCode.Get, "/a", CoapMessageType.NonConfirmable) with { MessageId = (ushort)i, Token = BitConverter.GetBytes(i) });
        int AnsweredSoFar() => network.Find(d => d.To.Equals(raw.LocalEndPoint)).Count;

        const int Sent = 70_000;
        for (int i = 0; i < Sent; i++)
        {
            endpoint.ProcessDatagram(Non(i), raw.LocalEndPoint);
        }

        int answered = AnsweredSoFar();
        Assert.InRange(answered, 65_536 - 4096, 65_536);
        Assert.Equal(Sent - answered, meters.Sum("coap.responses.dropped"));
        Assert.Equal(0, time.ArmedOneShotTimers);

        // Once EXCHANGE_LIFETIME has passed, none of the dropped ones is sent after all, and a new request is answered again.
        time.Advance(endpoint.Options.ExchangeLifetime + TimeSpan.FromSeconds(1));
        await raw.SendRawAsync(Non(Sent), endpoint.LocalEndPoint);
        await TestWait.UntilAsync(() => network.Find(d => d.To.Equals(raw.LocalEndPoint) && d.Message?.Token.Span.SequenceEqual(BitConverter.GetBytes(Sent)) == true).Count == 1,
            "the answer to the request made after EXCHANGE_LIFETIME");
        Assert.Equal(answered + 1, AnsweredSoFar());
    }

    [Fact]
    public async Task Ping_EmptyCon_IsAnsweredWithResetOfSameMid()
    {
        await using var server = StartServer(out var address);
        await using var raw = _network.CreateChannel();

        await raw.SendRawAsync([0x40, 0x00, 0x12, 0x34], address);
        var reply = await raw.ReceiveMessageAsync(s_receive);

        Assert.Equal(CoapMessageType.Reset, reply.Type);
        Assert.True(reply.IsEmpty);
        Assert.Equal(0x1234, reply.MessageId);
    }

    public static TheoryData<string, byte[]> MalformedCons => new()
    {
        { "token length 9", [0x49, 0x01, 0x22, 0x22, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
        { "truncated option (extended delta byte missing)", [0x41, 0x01, 0x22, 0x22, 0xAA, 0xD1] },
        { "truncated option value", [0x40, 0x01, 0x22, 0x22, 0xB5, (byte)'a'] },
        { "reserved option nibble 15", [0x40, 0x01, 0x22, 0x22, 0xF1, 0x00] },
        { "payload marker without payload", [0x40, 0x01, 0x22, 0x22, 0xFF] },
        { "empty message with a token", [0x41, 0x00, 0x22, 0x22, 0x01] },
        { "reserved code class 7", [0x40, 0xE1, 0x22, 0x22] },
    };

    [Theory]
    [MemberData(nameof(MalformedCons))]
    public async Task MalformedCon_IsRejectedWithResetOfItsMid(string what, byte[] datagram)
    {
        await using var server = StartServer(out var address);
        await using var raw = _network.CreateChannel();

        await raw.SendRawAsync(datagram, address);
        var reply = await raw.ReceiveMessageAsync(s_receive);

        Assert.True(reply.Type == CoapMessageType.Reset, what);
        Assert.Equal(0x2222, reply.MessageId);
        Assert.True(reply.IsEmpty);
    }

    [Theory]
    [InlineData(new byte[] { 0x59, 0x01, 0x22, 0x22, 1, 2, 3, 4, 5, 6, 7, 8, 9 })]
    [InlineData(new byte[] { 0x51, 0x01, 0x22, 0x22, 0xAA, 0xD1 })]
    [InlineData(new byte[] { 0x50, 0x00, 0x22, 0x22 })]
    [InlineData(new byte[] { 0x50, 0x01, 0x22, 0x22, 0xFF })]
    [InlineData(new byte[] { 0x80, 0x01, 0x22, 0x22 })]
    [InlineData(new byte[] { 0x40, 0x01 })]
    public async Task MalformedNonOrUnknownVersion_IsSilentlyIgnored(byte[] datagram)
    {
        await using var server = StartServer(out var address);
        await using var raw = _network.CreateChannel();

        await raw.SendRawAsync(datagram, address);
        await AssertNothingBeforePingAsync(raw, address);
    }

    [Fact]
    public async Task UnrecognisedCriticalOption_InConRequest_Gets402Piggybacked()
    {
        int calls = 0;
        await using var server = StartServer(out var address, map: s => s.MapGet("/c", (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content });
        }));
        await using var raw = _network.CreateChannel();

        var request = CoapMessage.CreateRequest(CoapCode.Get, "/c") with { MessageId = 0x0101, Token = new byte[] { 7, 7 } };
        await raw.SendMessageAsync(request.WithOption(CoapOption.FromString(65001, "x")), address);
        var reply = await raw.ReceiveMessageAsync(s_receive);

        Assert.Equal(CoapMessageType.Acknowledgement, reply.Type);
        Assert.Equal(CoapCode.BadOption, reply.Code);
        Assert.Equal(0x0101, reply.MessageId);
        Assert.Equal([7, 7], reply.Token.ToArray());
        Assert.Contains("65001", reply.PayloadText, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task OscoreOption_InConRequest_Gets402NamingIt()
    {
        int calls = 0;
        await using var server = StartServer(out var address, map: s => s.MapGet("/c", (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content });
        }));
        await using var raw = _network.CreateChannel();

        // RFC 8613 §2: an OSCORE option of kid-context flags and a partial IV; this server does no OSCORE.
        var request = CoapMessage.CreateRequest(CoapCode.Get, "/c") with { MessageId = 0x0111, Token = new byte[] { 9 } };
        await raw.SendMessageAsync(request.WithOption(new CoapOption(CoapOptionNumber.Oscore, new byte[] { 0x09, 0x14 })), address);
        var reply = await raw.ReceiveMessageAsync(s_receive);

        Assert.Equal((CoapMessageType.Acknowledgement, CoapCode.BadOption, (ushort)0x0111), (reply.Type, reply.Code, reply.MessageId));
        Assert.Contains("OSCORE", reply.PayloadText, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task OscoreOption_InNonRequest_IsRejectedWithReset()
    {
        int calls = 0;
        await using var server = StartServer(out var address, map: s => s.MapGet("/c", (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content });
        }));
        await using var raw = _network.CreateChannel();

        var request = CoapMessage.CreateRequest(CoapCode.Get, "/c", CoapMessageType.NonConfirmable) with { MessageId = 0x0112, Token = new byte[] { 9 } };
        await raw.SendMessageAsync(request.WithOption(new CoapOption(CoapOptionNumber.Oscore, ReadOnlyMemory<byte>.Empty)), address);
        var reply = await raw.ReceiveMessageAsync(s_receive);

        Assert.Equal((CoapMessageType.Reset, (ushort)0x0112), (reply.Type, reply.MessageId));
        Assert.Equal(0, calls);
    }

    [Theory]
    [InlineData(CoapOptionNumber.ProxyUri, "coap://other.example/c", CoapMessageType.Confirmable, CoapMessageType.Acknowledgement)]
    [InlineData(CoapOptionNumber.ProxyScheme, "coap", CoapMessageType.Confirmable, CoapMessageType.Acknowledgement)]
    [InlineData(CoapOptionNumber.ProxyUri, "coap://other.example/c", CoapMessageType.NonConfirmable, CoapMessageType.NonConfirmable)]
    public async Task ProxyOption_OnAServerThatIsNoForwardProxy_Gets505(int number, string value, CoapMessageType type, CoapMessageType replyType)
    {
        int calls = 0;
        await using var server = StartServer(out var address, map: s => s.MapGet("/c", (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content });
        }));
        await using var raw = _network.CreateChannel();

        var request = CoapMessage.CreateRequest(CoapCode.Get, "/c", type) with { MessageId = 0x0113, Token = new byte[] { 5 } };
        await raw.SendMessageAsync(request.WithOption(CoapOption.FromString(number, value)), address);
        var reply = await raw.ReceiveMessageAsync(s_receive);

        Assert.Equal((replyType, CoapCode.ProxyingNotSupported), (reply.Type, reply.Code));
        Assert.Equal([5], reply.Token.ToArray());
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task UnrecognisedCriticalOption_InNonRequest_IsRejected()
    {
        int calls = 0;
        await using var server = StartServer(out var address, map: s => s.MapGet("/c", (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content });
        }));
        await using var raw = _network.CreateChannel();

        // §5.4.1: rejected as in §4.3, which is a Reset (or silence), never processing.
        var request = CoapMessage.CreateRequest(CoapCode.Get, "/c", CoapMessageType.NonConfirmable) with { MessageId = 0x0102, Token = new byte[] { 8 } };
        await raw.SendMessageAsync(request.WithOption(CoapOption.FromString(65001, "x")), address);
        var reply = await raw.ReceiveMessageAsync(s_receive);

        Assert.Equal(CoapMessageType.Reset, reply.Type);
        Assert.Equal(0x0102, reply.MessageId);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task UnrecognisedElectiveOption_IsIgnored()
    {
        await using var server = StartServer(out var address);
        await using var raw = _network.CreateChannel();

        var request = CoapMessage.CreateRequest(CoapCode.Get, "/a") with { MessageId = 0x0202, Token = new byte[] { 1 } };
        await raw.SendMessageAsync(request.WithOption(CoapOption.FromString(65000, "x")), address);
        var reply = await raw.ReceiveMessageAsync(s_receive);

        Assert.Equal((CoapMessageType.Acknowledgement, CoapCode.Content, (ushort)0x0202), (reply.Type, reply.Code, reply.MessageId));
        Assert.Equal("a", reply.PayloadText);
    }

    [Theory]
    [InlineData(CoapMessageType.Confirmable)]
    [InlineData(CoapMessageType.NonConfirmable)]
    public async Task ResponseWithUnknownToken_IsRejectedWithReset(CoapMessageType type)
    {
        await using var client = new CoapClient(_network.CreateChannel());
        await using var raw = _network.CreateChannel();

        var stray = new CoapMessage { Type = type, Code = CoapCode.Content, MessageId = 0x3456, Token = new byte[] { 0xDE, 0xAD, 0xBE, 0xEF } }.WithPayload("?");
        await raw.SendMessageAsync(stray, client.Endpoint.LocalEndPoint);
        var reply = await raw.ReceiveMessageAsync(s_receive);

        Assert.Equal(CoapMessageType.Reset, reply.Type);
        Assert.Equal(0x3456, reply.MessageId);
        Assert.True(reply.IsEmpty);
    }

    [Fact]
    public async Task SeparateConResponse_IsAcknowledgedByTheClient()
    {
        await using var client = new CoapClient(_network.CreateChannel());
        await using var raw = _network.CreateChannel();

        var pending = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/x"), raw.LocalEndPoint, default);
        var request = await raw.ReceiveMessageAsync(s_receive);
        Assert.Equal(CoapMessageType.Confirmable, request.Type);

        await raw.SendMessageAsync(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, request.MessageId), client.Endpoint.LocalEndPoint);
        var separate = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Content, MessageId = 0x7777, Token = request.Token }.WithPayload("sep");
        await raw.SendMessageAsync(separate, client.Endpoint.LocalEndPoint);

        var ack = await raw.ReceiveMessageAsync(s_receive);
        Assert.Equal((CoapMessageType.Acknowledgement, (ushort)0x7777), (ack.Type, ack.MessageId));
        Assert.True(ack.IsEmpty);
        var response = await pending.Bounded();
        Assert.Equal("sep", response.PayloadText);
    }

    [Fact]
    public async Task NStart1_SecondRequestToSamePeerWaitsForTheFirstResponse()
    {
        var arrivals = new ConcurrentQueue<string>();
        var firstEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = StartServer(out var address, map: s =>
        {
            s.MapGet("/first", async (_, _) =>
            {
                arrivals.Enqueue("first");
                firstEntered.TrySetResult();
                await releaseFirst.Task;
                return new CoapMessage { Code = CoapCode.Content };
            });
            s.MapGet("/second", (_, _) =>
            {
                arrivals.Enqueue("second");
                return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content });
            });
        });
        await using var client = new CoapClient(_network.CreateChannel(), new CoapClientOptions { Endpoint = { NStart = 1 } });

        var first = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/first"), address, default);
        await firstEntered.Task.Bounded();
        var second = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/second"), address, default);

        // The first is acknowledged (separate response) but not answered: the interaction is still outstanding (§4.7).
        await Task.Delay(200);
        Assert.Empty(_network.Find(d => d.Message?.UriPath == "second"));
        releaseFirst.SetResult();

        await Task.WhenAll(first, second).Bounded();
        Assert.Equal(["first", "second"], arrivals);
    }

    [Fact]
    public async Task NStart_CancellingAQueuedRequest_DoesNotFreeASlotItNeverHeld()
    {
        await using var client = new CoapClient(_network.CreateChannel(), new CoapClientOptions { Endpoint = { NStart = 1, AckTimeout = TimeSpan.FromSeconds(5) } });
        await using var silent = _network.CreateChannel();

        var first = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/first"), silent.LocalEndPoint, default);
        using (var cts = new CancellationTokenSource())
        {
            var queued = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/queued"), silent.LocalEndPoint, cts.Token);
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.Bounded());
        }

        var third = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/third"), silent.LocalEndPoint, default);
        await Task.Delay(200);
        Assert.Empty(_network.Find(d => d.Message?.UriPath is "queued" or "third"));
        Assert.False(first.IsCompleted);
        Assert.False(third.IsCompleted);
    }

    [Fact]
    public async Task PeerOverItsDeduplicationBound_IsServed_AndForgetsOnlyItsOwnOldest()
    {
        int calls = 0;
        await using var server = new CoapServer(new CoapServerOptions { Endpoint = new CoapEndpointOptions { MaxDeduplicationEntriesPerPeer = 2 } });
        server.MapGet("/count", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload(Interlocked.Increment(ref calls).ToString(System.Globalization.CultureInfo.InvariantCulture))));
        var address = server.Listen(_network.CreateChannel()).LocalEndPoint;
        await using var busy = _network.CreateChannel();
        await using var quiet = _network.CreateChannel();

        async Task<string> SendAsync(SimulatedDatagramChannel from, ushort mid)
        {
            await from.SendMessageAsync(CoapMessage.CreateRequest(CoapCode.Get, "/count") with { MessageId = mid, Token = new byte[] { (byte)mid } }, address);
            CoapMessage reply = await from.ReceiveMessageAsync(s_receive);
            Assert.Equal((CoapMessageType.Acknowledgement, mid, CoapCode.Content), (reply.Type, reply.MessageId, reply.Code));
            return reply.PayloadText;
        }

        Assert.Equal("1", await SendAsync(quiet, 100));
        Assert.Equal(["2", "3", "4"], [await SendAsync(busy, 1), await SendAsync(busy, 2), await SendAsync(busy, 3)]);

        // The busy peer's message 1 was forgotten (processed again); 3 is still remembered, and so is the quiet peer's 100.
        Assert.Equal("4", await SendAsync(busy, 3));
        Assert.Equal("1", await SendAsync(quiet, 100));
        Assert.Equal("5", await SendAsync(busy, 1));
        Assert.Equal(5, calls);
    }

    [Fact]
    public async Task ReceiveLoop_SurvivesGarbage()
    {
        int calls = 0;
        await using var server = StartServer(out var address, map: s => s.MapPost("/count", (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Changed });
        }));
        await using var client = new CoapClient(_network.CreateChannel(), new CoapClientOptions { Endpoint = { AckTimeout = TimeSpan.FromMilliseconds(200) } });
        await using var raw = _network.CreateChannel();

        var random = new Random(7252);
        for (int i = 0; i < 1000; i++)
        {
            byte[] junk = new byte[random.Next(0, 48)];
            random.NextBytes(junk);
            if (junk.Length > 0 && i % 2 == 0)
            {
                junk[0] = (byte)(0x40 | (junk[0] & 0x3F)); // version 1: gets past the first check
            }

            await raw.SendRawAsync(junk, address);
            await raw.SendRawAsync(junk, client.Endpoint.LocalEndPoint);
        }

        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/a"), address, default).Bounded();
        Assert.Equal("a", response.PayloadText);
        await AssertNothingUnexpectedFromPingAsync(raw, address);
        Assert.Equal(0, calls);
    }

    private static async Task AssertNothingUnexpectedFromPingAsync(SimulatedDatagramChannel raw, EndPoint target)
    {
        // Drain whatever the garbage provoked (RSTs, 4.04s), then the endpoint still answers a ping.
        while (await raw.TryReceiveAsync(TimeSpan.FromMilliseconds(50)) is not null)
        {
        }

        await AssertNothingBeforePingAsync(raw, target);
    }

    [Fact]
    public async Task HandlerThrowing_Gets500()
    {
        await using var server = StartServer(out var address, map: s => s.MapGet("/boom", (_, _) => throw new InvalidOperationException("boom")));
        await using var client = new CoapClient(_network.CreateChannel());

        var con = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/boom"), address, default).Bounded();
        var non = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/boom", CoapMessageType.NonConfirmable), address, default).Bounded();

        Assert.Equal(CoapCode.InternalServerError, con.Code);
        Assert.Equal(CoapCode.InternalServerError, non.Code);
    }

    [Fact]
    public async Task Dispose_FailsOutstandingRequestsWithEndpointClosed()
    {
        var client = new CoapClient(_network.CreateChannel(), new CoapClientOptions { Endpoint = { NStart = 1, AckTimeout = TimeSpan.FromSeconds(5) } });
        await using var silent = _network.CreateChannel();
        await using var acking = _network.CreateChannel();

        // Unacknowledged CON, and a second request queued behind it for the NSTART slot.
        var unacked = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/1"), silent.LocalEndPoint, default);
        var queued = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/2"), silent.LocalEndPoint, default);

        // Acknowledged with an empty ACK, waiting for the separate response.
        var awaitingSeparate = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/3"), acking.LocalEndPoint, default);
        var request = await acking.ReceiveMessageAsync(s_receive);
        await acking.SendMessageAsync(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, request.MessageId), client.Endpoint.LocalEndPoint);
        await AssertNothingBeforePingAsync(acking, client.Endpoint.LocalEndPoint); // the ACK has been processed
        Assert.False(awaitingSeparate.IsCompleted);

        await client.DisposeAsync().AsTask().Bounded(TimeSpan.FromSeconds(5));

        foreach (var task in new[] { unacked, queued, awaitingSeparate })
        {
            var ex = await Assert.ThrowsAsync<CoapProtocolException>(() => task.Bounded(TimeSpan.FromSeconds(5)));
            Assert.Equal(CoapError.EndpointClosed, ex.Error);
        }

        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/4"), silent.LocalEndPoint, default));
    }

    [Fact]
    public async Task ReadResponse_AfterATimeout_StillReceivesTheNextResponse()
    {
        await using var endpoint = new CoapEndpoint(_network.CreateChannel(), new CoapEndpointOptions { ResponseTimeout = TimeSpan.FromMilliseconds(100) });
        endpoint.Start();
        await using var raw = _network.CreateChannel();

        await using var exchange = endpoint.OpenExchange(CoapMessage.CreateRequest(CoapCode.Get, "/obs", CoapMessageType.NonConfirmable), raw.LocalEndPoint);
        await exchange.SendAsync(default);
        var request = await raw.ReceiveMessageAsync(s_receive);
        var timeout = await Assert.ThrowsAsync<CoapProtocolException>(async () => await exchange.ReadResponseAsync(default));
        Assert.Equal(CoapError.Timeout, timeout.Error);

        // The timed-out read must not linger and swallow what comes next.
        var late = new CoapMessage { Type = CoapMessageType.NonConfirmable, Code = CoapCode.Content, MessageId = 0x4444, Token = request.Token }.WithPayload("late");
        await raw.SendMessageAsync(late, endpoint.LocalEndPoint);
        var response = await exchange.ReadResponseAsync(default).AsTask().Bounded();
        Assert.Equal("late", response.PayloadText);
    }

    [Fact]
    public async Task AckCarryingARequest_OrNonEmptyReset_IsIgnored()
    {
        await using var endpoint = new CoapEndpoint(_network.CreateChannel(), new CoapEndpointOptions { AckTimeout = TimeSpan.FromMilliseconds(100), MaxRetransmit = 1 });
        endpoint.Start();
        await using var raw = _network.CreateChannel();

        var sending = endpoint.SendConfirmableAsync(CoapMessage.CreateRequest(CoapCode.Get, "/z") with { MessageId = 0x5555 }, raw.LocalEndPoint, default);
        await raw.ReceiveMessageAsync(s_receive);

        // §4.2: an ACK must be empty or carry a response, an RST must be empty; anything else is silently ignored.
        byte[] ackWithRequest = [0x60, 0x01, 0x55, 0x55];
        byte[] resetWithResponse = [0x70, 0x45, 0x55, 0x55];
        await raw.SendRawAsync(ackWithRequest, endpoint.LocalEndPoint);
        await raw.SendRawAsync(resetWithResponse, endpoint.LocalEndPoint);

        var ex = await Assert.ThrowsAsync<CoapProtocolException>(() => sending.Bounded());
        Assert.Equal(CoapError.Timeout, ex.Error);
    }

    [Fact]
    public async Task PiggybackedResponseWithUnrecognisedCriticalOption_IsRejected()
    {
        await using var client = new CoapClient(_network.CreateChannel());
        await using var raw = _network.CreateChannel();

        var pending = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/x"), raw.LocalEndPoint, default);
        var request = await raw.ReceiveMessageAsync(s_receive);
        var bad = new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Content, MessageId = request.MessageId, Token = request.Token }
            .WithOption(CoapOption.FromString(65001, "x"));
        await raw.SendMessageAsync(bad, client.Endpoint.LocalEndPoint);

        var ex = await Assert.ThrowsAsync<CoapProtocolException>(() => pending.Bounded());
        Assert.Equal(CoapError.BadOption, ex.Error);
    }

    [Fact]
    public async Task SeparateResponseWithUnrecognisedCriticalOption_IsRejectedWithReset()
    {
        await using var client = new CoapClient(_network.CreateChannel());
        await using var raw = _network.CreateChannel();

        var pending = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/x"), raw.LocalEndPoint, default);
        var request = await raw.ReceiveMessageAsync(s_receive);
        await raw.SendMessageAsync(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, request.MessageId), client.Endpoint.LocalEndPoint);
        var bad = new CoapMessage { Type = CoapMessageType.Confirmable, Code = CoapCode.Content, MessageId = 0x6666, Token = request.Token }
            .WithOption(CoapOption.FromString(65001, "x"));
        await raw.SendMessageAsync(bad, client.Endpoint.LocalEndPoint);

        var reply = await raw.ReceiveMessageAsync(s_receive);
        Assert.Equal((CoapMessageType.Reset, (ushort)0x6666), (reply.Type, reply.MessageId));
        var ex = await Assert.ThrowsAsync<CoapProtocolException>(() => pending.Bounded());
        Assert.Equal(CoapError.BadOption, ex.Error);
    }

    [Fact]
    public async Task DuplicatedNonResponse_IsNotAnsweredWithAnythingAtAll()
    {
        await using var client = new CoapClient(_network.CreateChannel());
        await using var raw = _network.CreateChannel();

        var pending = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/x", CoapMessageType.NonConfirmable), raw.LocalEndPoint, default);
        var request = await raw.ReceiveMessageAsync(s_receive);
        var response = new CoapMessage { Type = CoapMessageType.NonConfirmable, Code = CoapCode.Content, MessageId = 0x0909, Token = request.Token }.WithPayload("r");
        await raw.SendMessageAsync(response, client.Endpoint.LocalEndPoint);
        await raw.SendMessageAsync(response, client.Endpoint.LocalEndPoint);
        Assert.Equal("r", (await pending.Bounded()).PayloadText);

        await AssertNothingBeforePingAsync(raw, client.Endpoint.LocalEndPoint);
        Assert.Empty(_network.Find(d => d.Data.Length < 4));
    }

    [Fact]
    public async Task DuplicatedNonRequest_IsSilentlyIgnored()
    {
        int calls = 0;
        await using var server = StartServer(out var address, map: s => s.MapGet("/n", (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content });
        }));
        await using var raw = _network.CreateChannel();

        byte[] request = CoapMessageEncoder.Encode(CoapMessage.CreateRequest(CoapCode.Get, "/n", CoapMessageType.NonConfirmable) with { MessageId = 0x0A0A, Token = new byte[] { 1 } });
        await raw.SendRawAsync(request, address);
        var response = await raw.ReceiveMessageAsync(s_receive);
        Assert.Equal(CoapMessageType.NonConfirmable, response.Type);

        // §4.5: a duplicate NON is silently ignored, and its request processed only once.
        await raw.SendRawAsync(request, address);
        await AssertNothingBeforePingAsync(raw, address);
        Assert.Equal(1, calls);
        Assert.Equal(0x0A0A, BinaryPrimitives.ReadUInt16BigEndian(request.AsSpan(2)));
    }
}
