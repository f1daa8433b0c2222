using CoapEnroll.Coap;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// TD_COAP_CORE_15 and _16, the plugtest's lossy context: where the TDs put a gateway that loses packets, libcoap's
/// <c>coap-client-notls</c> talks to <c>serve</c> through a <see cref="LossyForwarder"/> that drops chosen datagrams, and a raw
/// client plays the lost message by sending the same datagram again or by not acknowledging. Checked: the server answers a
/// retransmitted CON with the same reply and message ID (RFC 7252 §4.5), and retransmits its separate CON response until
/// acknowledged, then stops (§4.2). A class of its own so that its waits (retransmission timeouts of 2–3 s and more) run
/// beside the other plugtest classes.
/// </summary>
public sealed class CoreLossyTdTests : IClassFixture<PlugtestServerFixture>
{
    private readonly PlugtestServerFixture _server;

    public CoreLossyTdTests(PlugtestServerFixture server) => _server = server;

    [Fact]
    public async Task TD_COAP_CORE_15_GetConPiggybackedLossy()
    {
        // The first request is lost on its way to the server, and the piggybacked response to its first retransmission on its
        // way back: the client must retransmit twice, and the server must answer the duplicate again.
        await using var gateway = new LossyForwarder(_server.CoapEndPoint) { DropToServer = { 0 }, DropToClient = { 0 } };

        var trace = LibCoapTrace.Parse(await _server.RunLibCoapAsync("-m", "get", $"coap://127.0.0.1:{gateway.EndPoint.Port}/test"));

        var request = trace.Request;
        Assert.True(request is { Type: "CON", Code: "GET" }, trace.Describe());
        Assert.True(trace.Sent.Count(p => p.MessageId == request.MessageId && p.IsRequest) >= 3,
            $"expected the request sent three times with message ID {request.MessageId:x4}.{Environment.NewLine}{trace.Describe()}");
        var response = trace.Response;
        Assert.True(response is { Type: "ACK", Code: "2.05" } && response.MessageId == request.MessageId && response.Token == request.Token,
            $"expected a piggybacked 2.05 with the request's message ID and token.{Environment.NewLine}{trace.Describe()}");
        Assert.True(response.HasOption("Content-Format") && !string.IsNullOrEmpty(response.Payload), trace.Describe());
        Assert.True(gateway.ForwardedToClient >= 2, $"the server answered the retransmission {gateway.ForwardedToClient} time(s).{Environment.NewLine}{trace.Describe()}");
    }

    [Fact]
    public async Task TD_COAP_CORE_15_GetConPiggybackedLossy_Raw()
    {
        using var client = _server.NewRawClient();
        var request = RawCoapClient.Request(CoapMessageType.Confirmable, CoapCode.Get, "/test");

        byte[] sent = await client.SendAsync(request);
        byte[] first = await client.ReceiveDatagramAsync("the piggybacked response");

        // The response "is lost": the client retransmits the same datagram (same message ID and token).
        await client.SendAsync(sent);
        byte[] second = await client.ReceiveDatagramAsync("the response again, for the retransmission");

        var response = RawCoapClient.Decode(first);
        Assert.True(response.Type == CoapMessageType.Acknowledgement && response.Code == CoapCode.Content && response.MessageId == request.MessageId
            && response.Token.Span.SequenceEqual(request.Token.Span), response.ToString());
        Assert.True(response.ContentFormat is not null && !response.Payload.IsEmpty, response.ToString());

        // RFC 7252 §4.5: the duplicate gets the same reply, byte for byte.
        Assert.Equal(Convert.ToHexString(first), Convert.ToHexString(second));
    }

    [Fact]
    public async Task TD_COAP_CORE_16_GetConSeparateLossy()
    {
        // The empty ACK arrives; the separate response is lost once, so the server must retransmit it.
        await using var gateway = new LossyForwarder(_server.CoapEndPoint) { DropToClient = { 1 } };

        var trace = LibCoapTrace.Parse(await _server.RunLibCoapAsync("-m", "get", $"coap://127.0.0.1:{gateway.EndPoint.Port}/separate"));

        var request = trace.Request;
        Assert.True(request is { Type: "CON", Code: "GET" }, trace.Describe());
        Assert.True(trace.Received.Any(p => p is { Type: "ACK", IsEmpty: true } && p.MessageId == request.MessageId),
            $"expected the empty ACK of {request.MessageId:x4}.{Environment.NewLine}{trace.Describe()}");
        var response = trace.Response;
        Assert.True(response is { Type: "CON", Code: "2.05" } && response.Token == request.Token, trace.Describe());
        Assert.True(response.HasOption("Content-Format") && !string.IsNullOrEmpty(response.Payload), trace.Describe());
        Assert.True(trace.Sent.Any(p => p is { Type: "ACK", IsEmpty: true } && p.MessageId == response.MessageId),
            $"the client did not acknowledge {response.MessageId:x4}.{Environment.NewLine}{trace.Describe()}");
        Assert.True(gateway.ForwardedToClient >= 3,
            $"the server sent {gateway.ForwardedToClient} datagram(s): the lost separate response was not retransmitted.{Environment.NewLine}{trace.Describe()}");
    }

    [Fact]
    public async Task TD_COAP_CORE_16_GetConSeparateLossy_Raw()
    {
        using var client = _server.NewRawClient();
        var request = RawCoapClient.Request(CoapMessageType.Confirmable, CoapCode.Get, "/separate");
        string emptyAck = Convert.ToHexString([0x60, 0x00, (byte)(request.MessageId >> 8), (byte)request.MessageId]);

        byte[] sent = await client.SendAsync(request);
        Assert.Equal(emptyAck, Convert.ToHexString(await client.ReceiveDatagramAsync("the empty ACK")));

        // The ACK "is lost": the retransmitted request gets the same empty ACK, and is not handled again.
        await client.SendAsync(sent);
        Assert.Equal(emptyAck, Convert.ToHexString(await client.ReceiveDatagramAsync("the empty ACK again")));

        // The separate response "is lost" (not acknowledged): the server sends it again, the same message.
        byte[] separate = await client.ReceiveDatagramAsync("the separate response");
        var response = RawCoapClient.Decode(separate);
        Assert.True(response.Type == CoapMessageType.Confirmable && response.Code == CoapCode.Content
            && response.Token.Span.SequenceEqual(request.Token.Span) && response.ContentFormat is not null && !response.Payload.IsEmpty, response.ToString());
        byte[] retransmitted = await client.ReceiveDatagramAsync("the retransmitted separate response");
        Assert.Equal(Convert.ToHexString(separate), Convert.ToHexString(retransmitted));

        // Acknowledged now: nothing more comes, neither a retransmission (the next was due 4–6 s after the first) nor a
        // second response for the duplicate request.
        await client.AcknowledgeAsync(response);
        byte[]? more = await client.TryReceiveDatagramAsync(TimeSpan.FromSeconds(8));
        Assert.True(more is null, $"after the ACK the server still sent {(more is null ? "" : RawCoapClient.Decode(more).ToString())}");
    }
}
