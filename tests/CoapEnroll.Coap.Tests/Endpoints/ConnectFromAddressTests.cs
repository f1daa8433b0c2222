using System.Net;
using System.Net.Sockets;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Endpoints;

/// <summary>A client channel connected from a chosen local address: the peer sees that address, and it is still a connected channel.</summary>
public class ConnectFromAddressTests
{
    [Fact]
    public async Task ConnectTo_FromLocalAddress_PeerSeesThatSourceAndAnswersReachIt()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var serverAddress = (IPEndPoint)server.LocalEndPoint!;
        var source = IPAddress.Parse("127.0.0.2"); // Linux routes all of 127.0.0.0/8 to the loopback interface

        await using UdpDatagramChannel client = UdpDatagramChannel.ConnectTo(serverAddress, source);
        Assert.Equal(source, ((IPEndPoint)client.LocalEndPoint).Address);
        await client.SendAsync(new byte[] { 1, 2, 3 }, serverAddress, CancellationToken.None);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[16];
        SocketReceiveFromResult received = await server.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        var from = (IPEndPoint)received.RemoteEndPoint;
        Assert.Equal(source, from.Address);
        Assert.Equal(3, received.ReceivedBytes);

        await server.SendToAsync(new byte[] { 9 }, from, timeout.Token);
        DatagramReceiveResult answer = await client.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(1, answer.ReceivedBytes);
        Assert.Equal(9, buffer[0]);
    }

    [Fact]
    public void ConnectTo_LocalAddressOfAnotherFamily_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => UdpDatagramChannel.ConnectTo(new IPEndPoint(IPAddress.Loopback, 5684), IPAddress.IPv6Loopback));
        Assert.Contains("is not of the family of", ex.Message, StringComparison.Ordinal);
    }
}
