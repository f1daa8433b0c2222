using System.Net;
using CoapEnroll.Coap.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Coap.Tests.Endpoints;

/// <summary>
/// A peer's requests whose handlers do not answer at once are bounded per peer and in total
/// (<see cref="CoapEndpointOptions.MaxRequestsInProgressPerPeer"/>, <see cref="CoapEndpointOptions.MaxRequestsInProgress"/>): past
/// them a request is refused at once, with 4.29 or 5.03 and Max-Age, instead of queueing more work. The clock is manual, so no
/// separate response's empty ACK comes in between.
/// </summary>
public class RequestsInProgressTests
{
    private static readonly TimeSpan s_receive = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _time = new();
    private readonly SimulatedNetwork _network;
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RequestsInProgressTests() => _network = new SimulatedNetwork(_time);

    private CoapServer StartServer(int perPeer, int total, out CoapEndpoint endpoint, int perAddress = 64)
    {
        var server = new CoapServer(
            new CoapServerOptions
            {
                Endpoint = new CoapEndpointOptions
                {
                    MaxRequestsInProgressPerPeer = perPeer, MaxRequestsInProgressPerAddress = perAddress, MaxRequestsInProgress = total,
                },
            },
            timeProvider: _time);
        server.MapGet("/slow", async (_, _) =>
        {
            await _release.Task;
            return new CoapMessage { Code = CoapCode.Content }.WithPayload("slow");
        });
        server.MapGet("/a", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload("a")));
        endpoint = server.Listen(_network.CreateChannel());
        return server;
    }

    private static CoapMessage Get(string path, ushort messageId) =>
        CoapMessage.CreateRequest(CoapCode.Get, path) with { MessageId = messageId, Token = BitConverter.GetBytes(messageId) };

    [Fact]
    public async Task PastThePeersBound_ARequestGets429WithMaxAge_AtOnce_AndTheBoundFreesUpWhenAnswered()
    {
        using var meters = new MeterRecorder("CoapEnroll.Coap");
        await using var server = StartServer(perPeer: 2, total: 100, out CoapEndpoint endpoint);
        await using var peer = _network.CreateChannel();
        await using var other = _network.CreateChannel();
        EndPoint address = endpoint.LocalEndPoint;

        await peer.SendMessageAsync(Get("/slow", 1), address);
        await peer.SendMessageAsync(Get("/slow", 2), address);
        await TestWait.UntilAsync(() => endpoint.RequestsInProgressCount == 2, "two requests in progress");

        // The third, and a request that would be answered at once: refused at once, piggybacked on the ACK.
        await peer.SendMessageAsync(Get("/slow", 3), address);
        await peer.SendMessageAsync(Get("/a", 4), address);
        foreach (ushort messageId in new ushort[] { 3, 4 })
        {
            CoapMessage refused = await peer.ReceiveMessageAsync(s_receive);
            Assert.Equal((CoapMessageType.Acknowledgement, messageId, CoapCode.TooManyRequests), (refused.Type, refused.MessageId, refused.Code));
            Assert.Equal(1u, refused.MaxAge);
        }

        Assert.Equal(2, meters.Sum("coap.requests.refused", "peer"));

        // Another peer is not affected.
        await other.SendMessageAsync(Get("/a", 5), address);
        Assert.Equal(CoapCode.Content, (await other.ReceiveMessageAsync(s_receive)).Code);

        // Answered, the two free the bound: both responses come, and the peer is served again.
        _release.SetResult();
        var answers = new[] { await peer.ReceiveMessageAsync(s_receive), await peer.ReceiveMessageAsync(s_receive) };
        Assert.All(answers, a => Assert.Equal((CoapCode.Content, "slow"), (a.Code, a.PayloadText)));
        Assert.Equal([1, 2], answers.Select(a => (int)a.MessageId).Order());
        await TestWait.UntilAsync(() => endpoint.RequestsInProgressCount == 0, "no request in progress");
        await peer.SendMessageAsync(Get("/slow", 6), address);
        CoapMessage again = await peer.ReceiveMessageAsync(s_receive);
        Assert.Equal((CoapCode.Content, (ushort)6), (again.Code, again.MessageId));
    }

    [Fact]
    public async Task PastTheTotalBound_ARequestGets503WithMaxAge()
    {
        using var meters = new MeterRecorder("CoapEnroll.Coap");
        await using var server = StartServer(perPeer: 2, total: 3, out CoapEndpoint endpoint);
        await using var a = _network.CreateChannel();
        await using var b = _network.CreateChannel();
        await using var c = _network.CreateChannel();
        EndPoint address = endpoint.LocalEndPoint;

        await a.SendMessageAsync(Get("/slow", 1), address);
        await a.SendMessageAsync(Get("/slow", 2), address);
        await b.SendMessageAsync(Get("/slow", 3), address);
        await TestWait.UntilAsync(() => endpoint.RequestsInProgressCount == 3, "three requests in progress");

        await c.SendMessageAsync(Get("/a", 4), address);
        CoapMessage refused = await c.ReceiveMessageAsync(s_receive);
        Assert.Equal((CoapCode.ServiceUnavailable, (ushort)4, 1u), (refused.Code, refused.MessageId, refused.MaxAge));
        Assert.Equal(1, meters.Sum("coap.requests.refused", "global"));

        _release.SetResult();
        await TestWait.UntilAsync(() => endpoint.RequestsInProgressCount == 0, "no request in progress");
        await c.SendMessageAsync(Get("/a", 5), address);
        Assert.Equal(CoapCode.Content, (await c.ReceiveMessageAsync(s_receive)).Code);
    }

    [Fact]
    public async Task PastTheAddressBound_APeerOfThatAddressGets429_AnotherAddressIsServed()
    {
        using var meters = new MeterRecorder("CoapEnroll.Coap");
        await using var server = StartServer(perPeer: 2, total: 100, out CoapEndpoint endpoint, perAddress: 2);
        var host = IPAddress.Parse("10.9.9.9");
        await using var first = _network.CreateChannel(new IPEndPoint(host, 1001));
        await using var second = _network.CreateChannel(new IPEndPoint(host, 1002));
        await using var third = _network.CreateChannel(new IPEndPoint(host, 1003));
        await using var elsewhere = _network.CreateChannel(new IPEndPoint(IPAddress.Parse("10.9.9.10"), 1001));
        EndPoint address = endpoint.LocalEndPoint;

        await first.SendMessageAsync(Get("/slow", 1), address);
        await second.SendMessageAsync(Get("/slow", 2), address);
        await TestWait.UntilAsync(() => endpoint.RequestsInProgressCount == 2, "two requests in progress");

        await third.SendMessageAsync(Get("/a", 3), address);
        CoapMessage refused = await third.ReceiveMessageAsync(s_receive);
        Assert.Equal((CoapCode.TooManyRequests, (ushort)3, 1u), (refused.Code, refused.MessageId, refused.MaxAge));
        Assert.Equal(1, meters.Sum("coap.requests.refused", "address"));
        await elsewhere.SendMessageAsync(Get("/a", 4), address);
        Assert.Equal(CoapCode.Content, (await elsewhere.ReceiveMessageAsync(s_receive)).Code);

        _release.SetResult();
        await TestWait.UntilAsync(() => endpoint.RequestsInProgressCount == 0, "no request in progress");
        await third.SendMessageAsync(Get("/a", 5), address);
        Assert.Equal(CoapCode.Content, (await third.ReceiveMessageAsync(s_receive)).Code);
    }

    [Fact]
    public async Task ASeparateResponse_FreesItsSlotOnceTheHandlerHasAnswered_NotWhenItIsAcknowledged()
    {
        await using var server = StartServer(perPeer: 1, total: 100, out CoapEndpoint endpoint);
        await using var peer = _network.CreateChannel();
        EndPoint address = endpoint.LocalEndPoint;

        // Longer than SeparateResponseDelay: acknowledged now, answered later in a CON of its own (RFC 7252 §5.2.2).
        await peer.SendMessageAsync(Get("/slow", 1), address);
        await TestWait.UntilAsync(() => _time.ArmedOneShotTimers > 0, "the separate-response timer");
        _time.Advance(endpoint.Options.SeparateResponseDelay + TimeSpan.FromMilliseconds(1));
        CoapMessage ack = await peer.ReceiveMessageAsync(s_receive);
        Assert.Equal((CoapMessageType.Acknowledgement, (ushort)1, true), (ack.Type, ack.MessageId, ack.IsEmpty));
        Assert.Equal(1, endpoint.RequestsInProgressCount);

        // The handler answers; the peer never acknowledges the separate response, which is retransmitted on the manual clock
        // for as long as it is not advanced. The slot is free all the same, and the peer's next request is served.
        _release.SetResult();
        CoapMessage separate = await peer.ReceiveMessageAsync(s_receive);
        Assert.Equal((CoapMessageType.Confirmable, CoapCode.Content), (separate.Type, separate.Code));
        await TestWait.UntilAsync(() => endpoint.RequestsInProgressCount == 0, "the slot freed while the separate response is unacknowledged");
        await peer.SendMessageAsync(Get("/a", 2), address);
        CoapMessage next = await peer.ReceiveMessageAsync(s_receive);
        Assert.Equal((CoapCode.Content, (ushort)2), (next.Code, next.MessageId));
    }
}
