using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Endpoints;

/// <summary>
/// The kernel's ICMP port unreachable: a client on a connected channel fails at once, a server ignores it from one peer.
/// </summary>
public class PortUnreachableTests
{
    [Theory]
    [InlineData(CoapMessageType.Confirmable)]
    [InlineData(CoapMessageType.NonConfirmable)]
    public async Task ConnectedClient_ClosedPort_FailsAtOnceWithUnreachable(CoapMessageType type)
    {
        var closed = new IPEndPoint(IPAddress.Loopback, ClosedUdpPort());
        await using var client = new CoapClient(UdpDatagramChannel.ConnectTo(closed));

        var watch = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<CoapProtocolException>(
            () => client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/test", type), closed, CancellationToken.None));

        Assert.Equal(CoapError.Unreachable, ex.Error);
        Assert.Contains($"nothing listens on {closed} (port unreachable)", ex.Message, StringComparison.Ordinal);
        // Without the ICMP error the client would retransmit for about 45 s (RFC 7252 MAX_TRANSMIT_WAIT/2 and more).
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task Server_PeerGoneBeforeResponse_KeepsServingOthers()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new CoapServer();
        server.MapGet("/a", async (_, ct) =>
        {
            await release.Task.WaitAsync(ct);
            return new CoapMessage { Code = CoapCode.Content }.WithPayload("a");
        });
        var endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        var serverAddress = (IPEndPoint)endpoint.LocalEndPoint;

        // A peer that asks and goes away: the server's answer to its closed port earns the server socket an ICMP error.
        using (var gone = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            gone.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            gone.Connect(serverAddress);
            await gone.SendAsync(CoapMessageEncoder.Encode(CoapMessage.CreateRequest(CoapCode.Get, "/a", CoapMessageType.NonConfirmable)));
            await Task.Delay(100);
        }

        release.SetResult();
        await Task.Delay(200);

        await using var client = new CoapClient(UdpDatagramChannel.ConnectTo(serverAddress));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/a"), serverAddress, timeout.Token);

        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Equal("a", response.PayloadText);
    }

    /// <summary>A UDP port that was free a moment ago: bound, then released.</summary>
    private static int ClosedUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
