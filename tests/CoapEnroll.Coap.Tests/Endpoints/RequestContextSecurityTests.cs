using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Endpoints;

public class RequestContextSecurityTests
{
    [Fact]
    public async Task OverPlainUdp_ThereIsNoSecureSession()
    {
        await using var server = new CoapServer();
        server.MapGet("/who", (ctx, _) => ValueTask.FromResult(
            new CoapMessage { Code = CoapCode.Content }.WithPayload(ctx.SecureSession is null ? "none" : "secure")));
        var endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        var serverAddress = (IPEndPoint)endpoint.LocalEndPoint;

        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(serverAddress));
        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/who"), serverAddress, CancellationToken.None);

        Assert.Equal("none", response.PayloadText);
    }
}
