using System.Net;
using System.Net.Sockets;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Endpoints;

public class UdpRoundTripTests
{
    [Theory]
    [InlineData(CoapMessageType.Confirmable)]
    [InlineData(CoapMessageType.NonConfirmable)]
    public async Task Get_OverLoopback_ReturnsHandlerResponse(CoapMessageType type)
    {
        await using var server = new CoapServer();
        server.MapGet("/hello/{name}", (ctx, _) => ValueTask.FromResult(
            new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.TextPlain).WithPayload("hi " + ctx.RouteValues["name"])));
        var endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        var serverAddress = (IPEndPoint)endpoint.LocalEndPoint;

        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(serverAddress));
        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/hello/bob", type), serverAddress, CancellationToken.None);

        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Equal("hi bob", response.PayloadText);
        Assert.Equal(CoapContentFormat.TextPlain, response.ContentFormat);
    }

    [Fact]
    public async Task UnknownPathAndMethod_Get404And405()
    {
        await using var server = new CoapServer();
        server.MapGet("/a", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }));
        var endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.IPv6Any, 0)));
        var serverAddress = new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)endpoint.LocalEndPoint).Port);

        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(serverAddress));
        Assert.Equal(CoapCode.NotFound, (await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/b"), serverAddress, default)).Code);
        Assert.Equal(CoapCode.MethodNotAllowed, (await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/a"), serverAddress, default)).Code);

        var v6 = new IPEndPoint(IPAddress.IPv6Loopback, serverAddress.Port);
        await using var client6 = new CoapClient(UdpDatagramChannel.BindEphemeralFor(v6));
        Assert.Equal(CoapCode.Content, (await client6.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/a"), v6, default)).Code);
    }

    [Fact]
    public async Task SlowHandler_GetsEmptyAckThenSeparateResponse()
    {
        // The handler is held until the raw client has seen the empty ACK: the test does not depend on
        // which of two timers fires first on a loaded machine.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new CoapServerOptions { Endpoint = { SeparateResponseDelay = TimeSpan.FromMilliseconds(50) } };
        await using var server = new CoapServer(options);
        server.MapGet("/slow", async (_, ct) =>
        {
            await release.Task.WaitAsync(ct);
            return new CoapMessage { Code = CoapCode.Content }.WithPayload("late");
        });
        var endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        var serverAddress = (IPEndPoint)endpoint.LocalEndPoint;

        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        raw.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var request = CoapMessage.CreateRequest(CoapCode.Get, "/slow") with { MessageId = 0x1234, Token = new byte[] { 1, 2 } };
        await raw.SendToAsync(CoapMessageEncoder.Encode(request), SocketFlags.None, serverAddress, timeout.Token);

        var buffer = new byte[1500];
        var ack = CoapMessageDecoder.Decode(buffer.AsMemory(0, await raw.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)).ToArray());
        Assert.Equal((CoapMessageType.Acknowledgement, (ushort)0x1234), (ack.Type, ack.MessageId));
        Assert.True(ack.IsEmpty);

        release.SetResult();
        var separate = CoapMessageDecoder.Decode(buffer.AsMemory(0, await raw.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)).ToArray());
        Assert.Equal(CoapMessageType.Confirmable, separate.Type);
        Assert.Equal([1, 2], separate.Token.ToArray());
        Assert.Equal("late", separate.PayloadText);
        await raw.SendToAsync(CoapMessageEncoder.Encode(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, separate.MessageId)), SocketFlags.None, serverAddress, timeout.Token);
    }

    [Fact]
    public async Task SlowHandler_ClientReceivesTheSeparateResponse()
    {
        var options = new CoapServerOptions { Endpoint = { SeparateResponseDelay = TimeSpan.FromMilliseconds(50) } };
        await using var server = new CoapServer(options);
        server.MapGet("/slow", async (_, ct) =>
        {
            await Task.Delay(300, ct);
            return new CoapMessage { Code = CoapCode.Content }.WithPayload("late");
        });
        var endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        var serverAddress = (IPEndPoint)endpoint.LocalEndPoint;

        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(serverAddress));
        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/slow"), serverAddress, default);
        Assert.Equal("late", response.PayloadText);
    }

    // A handler that does not complete at once but within SeparateResponseDelay is answered in the ACK (or, for a
    // NON, in a NON) with the request's token, as a synchronous one is; one that fails asynchronously gets 5.00.
    [Theory]
    [InlineData(CoapMessageType.Confirmable, "/async", "2.05")]
    [InlineData(CoapMessageType.NonConfirmable, "/async", "2.05")]
    [InlineData(CoapMessageType.Confirmable, "/async-fails", "5.00")]
    [InlineData(CoapMessageType.NonConfirmable, "/async-fails", "5.00")]
    public async Task AsynchronousHandler_IsAnsweredLikeASynchronousOne(CoapMessageType type, string path, string code)
    {
        var options = new CoapServerOptions { Endpoint = { SeparateResponseDelay = TimeSpan.FromSeconds(30) } };
        await using var server = new CoapServer(options);
        server.MapGet("/async", async (_, ct) =>
        {
            await Task.Delay(20, ct);
            return new CoapMessage { Code = CoapCode.Content }.WithPayload("soon");
        });
        server.MapGet("/async-fails", async (_, ct) =>
        {
            await Task.Delay(20, ct);
            throw new InvalidOperationException("handler failed");
        });
        var endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        var serverAddress = (IPEndPoint)endpoint.LocalEndPoint;

        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        raw.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var request = CoapMessage.CreateRequest(CoapCode.Get, path, type) with { MessageId = 0x2345, Token = new byte[] { 7, 8, 9 } };
        await raw.SendToAsync(CoapMessageEncoder.Encode(request), SocketFlags.None, serverAddress, timeout.Token);

        var buffer = new byte[1500];
        var reply = CoapMessageDecoder.Decode(buffer.AsMemory(0, await raw.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)).ToArray());
        Assert.Equal(code, reply.Code.ToString());
        Assert.Equal([7, 8, 9], reply.Token.ToArray());
        if (type == CoapMessageType.Confirmable)
        {
            Assert.Equal((CoapMessageType.Acknowledgement, (ushort)0x2345), (reply.Type, reply.MessageId));
        }
        else
        {
            Assert.Equal(CoapMessageType.NonConfirmable, reply.Type);
        }

        if (reply.Code == CoapCode.Content)
        {
            Assert.Equal("soon", reply.PayloadText);
        }
    }
}
