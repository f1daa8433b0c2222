using System.Net;
using System.Net.Sockets;

namespace CoapEnroll.Bench;

/// <summary>A UDP socket of its own (a fresh ephemeral port) connected to the server, so that it receives only the server's datagrams.</summary>
internal sealed class UdpLoadTransport : ILoadTransport
{
    private readonly Socket _socket;

    public UdpLoadTransport(IPEndPoint server)
    {
        _socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
        _socket.Connect(server);
    }

    public Socket Socket => _socket;

    public ValueTask SendAsync(byte[] datagram, CancellationToken cancellationToken)
    {
        // A UDP send does not wait for the peer: a synchronous send is as fast as it gets and completes at once.
        _socket.Send(datagram);
        return ValueTask.CompletedTask;
    }

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) => _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
