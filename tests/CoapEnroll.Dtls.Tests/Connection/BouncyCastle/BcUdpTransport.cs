using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// BouncyCastle's blocking <see cref="DatagramTransport"/> over a UDP socket on loopback, for BC's DTLS client and server. It records
/// every datagram in both directions, can move to a new local port mid-session (<see cref="MoveToNewPort"/>: new socket, same DTLS
/// state), and as a server sends to the address of the first datagram until <see cref="FollowPeer"/> moves it (RFC 9146 §6).
/// </summary>
internal sealed class BcUdpTransport : DatagramTransport
{
    private const int Mtu = 1400;
    private readonly Lock _gate = new();
    private Socket _socket;
    private IPEndPoint? _peer;
    private IPEndPoint? _lastFrom;

    private BcUdpTransport(IPEndPoint? peer)
    {
        _peer = peer;
        _socket = NewSocket();
    }

    /// <summary>A client's transport: sends to <paramref name="server"/>.</summary>
    public static BcUdpTransport ConnectTo(IPEndPoint server) => new(server);

    /// <summary>A server's transport: answers the first address that sends to it.</summary>
    public static BcUdpTransport Listen() => new(null);

    public ConcurrentQueue<byte[]> Sent { get; } = new();

    public ConcurrentQueue<byte[]> Received { get; } = new();

    public IPEndPoint LocalEndPoint
    {
        get
        {
            lock (_gate)
            {
                return (IPEndPoint)_socket.LocalEndPoint!;
            }
        }
    }

    public IPEndPoint? Peer
    {
        get
        {
            lock (_gate)
            {
                return _peer;
            }
        }
    }

    /// <summary>Rebinds to a new ephemeral port; what the old socket had queued is lost, as on a real NAT rebinding.</summary>
    public void MoveToNewPort()
    {
        Socket old;
        lock (_gate)
        {
            old = _socket;
            _socket = NewSocket();
        }

        old.Dispose();
    }

    /// <summary>Sends from now on to the address of the last datagram received (call it for a record that authenticated as newest).</summary>
    public void FollowPeer()
    {
        lock (_gate)
        {
            _peer = _lastFrom;
        }
    }

    public int GetReceiveLimit() => Mtu;

    public int GetSendLimit() => Mtu;

    public int Receive(byte[] buf, int off, int len, int waitMillis) => Receive(buf.AsSpan(off, len), waitMillis);

    public int Receive(Span<byte> buffer, int waitMillis)
    {
        Socket socket;
        lock (_gate)
        {
            socket = _socket;
        }

        try
        {
            if (!socket.Poll(TimeSpan.FromMilliseconds(Math.Max(0, waitMillis)), SelectMode.SelectRead))
            {
                return -1;
            }

            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            int received = socket.ReceiveFrom(buffer, SocketFlags.None, ref from);
            Received.Enqueue(buffer[..received].ToArray());
            lock (_gate)
            {
                _lastFrom = (IPEndPoint)from;
                _peer ??= _lastFrom;
            }

            return received;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            // The socket was replaced (MoveToNewPort) or closed under us: nothing arrived on it.
            return -1;
        }
    }

    public void Send(byte[] buf, int off, int len) => Send(buf.AsSpan(off, len));

    public void Send(ReadOnlySpan<byte> buffer)
    {
        Socket socket;
        IPEndPoint peer;
        lock (_gate)
        {
            socket = _socket;
            peer = _peer ?? throw new InvalidOperationException("No peer yet.");
        }

        Sent.Enqueue(buffer.ToArray());
        socket.SendTo(buffer, SocketFlags.None, peer);
    }

    public void Close()
    {
        lock (_gate)
        {
            _socket.Dispose();
        }
    }

    private static Socket NewSocket()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }
}
