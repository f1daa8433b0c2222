using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace CoapEnroll.Transport;

/// <summary>
/// <see cref="IDatagramChannel"/> over one UDP socket. Bound to <see cref="IPAddress.IPv6Any"/> it is
/// dual-mode and serves IPv4 and IPv6 at once; IPv4 peers are reported as plain IPv4 endpoints.
/// Receives are asynchronous (no thread per peer) and do not allocate an endpoint per datagram.
/// </summary>
public sealed class UdpDatagramChannel : IDatagramChannel
{
    /// <summary>RFC 7252 §4.6: 1152 bytes of message fits the IPv6 minimum MTU with headroom.</summary>
    public const int DefaultMaxDatagramSize = 1152;

    private const int MaxCachedEndPoints = 4096;

    private readonly Socket _socket;
    private readonly SocketAddress _receiveAddress;
    private readonly ConcurrentDictionary<SocketAddress, IPEndPoint> _endPoints = new();
    private IPEndPoint? _connectedRemote;
    private int _unreachable;
    private ClosableReceive? _closableReceive;
    private int _disposed;

    private UdpDatagramChannel(Socket socket, int maxDatagramSize)
    {
        _socket = socket;
        MaxDatagramSize = maxDatagramSize;
        LocalEndPoint = Normalize((IPEndPoint)socket.LocalEndPoint!);
        _receiveAddress = new SocketAddress(socket.AddressFamily);
    }

    public EndPoint LocalEndPoint { get; }

    /// <summary>The socket's receive buffer as the system reports it (SO_RCVBUF; on Linux twice what it granted).</summary>
    public int SocketReceiveBufferBytes => _socket.ReceiveBufferSize;

    public int MaxDatagramSize { get; }

    /// <summary>
    /// Binds a socket. <see cref="IPAddress.IPv6Any"/> gives a dual-mode socket for both families. <paramref name="socketReceiveBufferBytes"/>,
    /// when above 0, asks the system for that much receive buffer (SO_RCVBUF; Linux caps the request at <c>net.core.rmem_max</c> and
    /// doubles it): how many datagrams a burst may leave waiting before the kernel drops them.
    /// </summary>
    public static UdpDatagramChannel Bind(IPEndPoint localEndPoint, int maxDatagramSize = DefaultMaxDatagramSize, int socketReceiveBufferBytes = 0)
    {
        Socket socket = CreateSocket(localEndPoint, socketReceiveBufferBytes);
        try
        {
            socket.Bind(localEndPoint);
            return new UdpDatagramChannel(socket, maxDatagramSize);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A UDP socket for <paramref name="localEndPoint"/>, not yet bound: dual-mode for <see cref="IPAddress.IPv6Any"/>, with the receive
    /// buffer asked for when <paramref name="socketReceiveBufferBytes"/> is above 0 (both channel kinds bind this way).
    /// </summary>
    internal static Socket CreateSocket(IPEndPoint localEndPoint, int socketReceiveBufferBytes)
    {
        ArgumentNullException.ThrowIfNull(localEndPoint);
        ArgumentOutOfRangeException.ThrowIfNegative(socketReceiveBufferBytes);
        var socket = new Socket(localEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (localEndPoint.AddressFamily == AddressFamily.InterNetworkV6 && localEndPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            if (socketReceiveBufferBytes > 0)
            {
                socket.ReceiveBufferSize = socketReceiveBufferBytes;
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A client channel on an ephemeral port of the family that reaches <paramref name="remote"/>.</summary>
    public static UdpDatagramChannel BindEphemeralFor(IPEndPoint remote, int maxDatagramSize = DefaultMaxDatagramSize)
        => Bind(new IPEndPoint(remote.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0), maxDatagramSize);

    /// <summary>
    /// A client channel on an ephemeral port, connected to <paramref name="remote"/>: it receives only from that peer, and the
    /// kernel's ICMP port unreachable for it surfaces at once as <see cref="RemoteUnreachableException"/> from
    /// <see cref="ReceiveAsync"/> (an unconnected socket never sees it on Linux, so a client would wait out its timeout).
    /// </summary>
    public static UdpDatagramChannel ConnectTo(IPEndPoint remote, int maxDatagramSize = DefaultMaxDatagramSize)
    {
        ArgumentNullException.ThrowIfNull(remote);
        return Connect(BindEphemeralFor(remote, maxDatagramSize), remote);
    }

    /// <summary>
    /// <see cref="ConnectTo(IPEndPoint, int)"/> from <paramref name="localAddress"/> (an ephemeral port on it): for a host with
    /// several addresses whose peer must see a given one as the source, e.g. a gateway on several networks.
    /// </summary>
    public static UdpDatagramChannel ConnectTo(IPEndPoint remote, IPAddress localAddress, int maxDatagramSize = DefaultMaxDatagramSize)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ArgumentNullException.ThrowIfNull(localAddress);
        if (localAddress.AddressFamily != remote.AddressFamily)
        {
            throw new ArgumentException($"the local address {localAddress} is not of the family of {remote}", nameof(localAddress));
        }

        return Connect(Bind(new IPEndPoint(localAddress, 0), maxDatagramSize), remote);
    }

    private static UdpDatagramChannel Connect(UdpDatagramChannel channel, IPEndPoint remote)
    {
        try
        {
            channel._socket.Connect(remote);
        }
        catch
        {
            channel._socket.Dispose();
            throw;
        }

        channel._connectedRemote = Normalize(remote);
        return channel;
    }

    public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        ReceiveCoreAsync(buffer, cancellationToken);

    /// <summary>
    /// On a connected channel (<see cref="ConnectTo(IPEndPoint, int)"/>) with a token that cannot be cancelled, the receive ends as
    /// <see cref="DatagramReceiveResult.Closed"/> when <see cref="DisposeAsync"/> closes the socket, through the socket's
    /// error code rather than an exception (<see cref="ClosableReceive"/>): a client that closes a session per enrollment would
    /// otherwise throw and catch one in the socket and one in each awaiting frame. Otherwise as the interface's default.
    /// </summary>
    public async ValueTask<DatagramReceiveResult> ReceiveOrClosedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_connectedRemote is { } remote && !cancellationToken.CanBeCanceled)
        {
            while (true)
            {
                if (Volatile.Read(ref _disposed) != 0)
                {
                    return DatagramReceiveResult.Closed;
                }

                if (Interlocked.Exchange(ref _unreachable, 0) != 0)
                {
                    throw new RemoteUnreachableException(remote);
                }

                _closableReceive ??= new ClosableReceive();
                (int received, SocketError error) = await _closableReceive.ReceiveAsync(_socket, buffer);
                if (error == SocketError.Success)
                {
                    return new DatagramReceiveResult(received, remote);
                }

                if (Volatile.Read(ref _disposed) != 0)
                {
                    return DatagramReceiveResult.Closed;
                }

                if (IsPortUnreachable(error))
                {
                    throw new RemoteUnreachableException(remote, new SocketException((int)error));
                }

                if (!IsTransient(error))
                {
                    throw new SocketException((int)error);
                }
            }
        }

        try
        {
            return await ReceiveAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException && Volatile.Read(ref _disposed) != 0)
        {
            return DatagramReceiveResult.Closed;
        }
    }

    private async ValueTask<DatagramReceiveResult> ReceiveCoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        // One receive at a time per channel: the endpoint runs a single receive loop, which is what
        // lets the shared SocketAddress be reused without allocation.
        while (true)
        {
            if (_connectedRemote is not null && Interlocked.Exchange(ref _unreachable, 0) != 0)
            {
                throw new RemoteUnreachableException(_connectedRemote);
            }

            int received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, _receiveAddress, cancellationToken);
            }
            catch (SocketException ex) when (_connectedRemote is not null && IsPortUnreachable(ex.SocketErrorCode))
            {
                throw new RemoteUnreachableException(_connectedRemote, ex);
            }
            catch (SocketException ex) when (IsTransient(ex.SocketErrorCode))
            {
                // ICMP errors from earlier sends surface here; they say nothing about this receive.
                continue;
            }

            return new DatagramReceiveResult(received, GetEndPoint(_receiveAddress));
        }
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken)
    {
        try
        {
            await _socket.SendToAsync(datagram, SocketFlags.None, remoteEndPoint, cancellationToken);
        }
        catch (SocketException ex) when (_connectedRemote is not null && IsPortUnreachable(ex.SocketErrorCode))
        {
            // The send consumed the socket's pending ICMP error: hand it to the next receive, where the caller looks for it.
            Volatile.Write(ref _unreachable, 1);
        }
        catch (SocketException ex) when (IsTransient(ex.SocketErrorCode))
        {
            // UDP gives no delivery guarantee; the CoAP message layer retransmits what matters.
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose(); // a pending ClosableReceive completes with OperationAborted; its event args are left to the GC with it
        }

        return ValueTask.CompletedTask;
    }

    private static bool IsPortUnreachable(SocketError error) => error is SocketError.ConnectionReset or SocketError.ConnectionRefused;

    private static bool IsTransient(SocketError error) => error is SocketError.ConnectionReset or SocketError.ConnectionRefused
        or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.MessageSize or SocketError.NoBufferSpaceAvailable;

    private IPEndPoint GetEndPoint(SocketAddress address)
    {
        if (_endPoints.TryGetValue(address, out var endPoint))
        {
            return endPoint;
        }

        if (_endPoints.Count >= MaxCachedEndPoints)
        {
            _endPoints.Clear();
        }

        var key = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span[..address.Size].CopyTo(key.Buffer.Span);
        var template = new IPEndPoint(address.Family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        endPoint = Normalize((IPEndPoint)template.Create(key));
        _endPoints[key] = endPoint;
        return endPoint;
    }

    private static IPEndPoint Normalize(IPEndPoint endPoint)
        => endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
}
