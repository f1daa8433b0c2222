using System.Net;
using System.Net.Sockets;

namespace CoapEnroll.Testing;

/// <summary>
/// A UDP forwarder on loopback between one client and a server that can drop, duplicate and reorder
/// datagrams (seeded), drop chosen datagrams by index, record sizes, and switch its upstream socket (a NAT
/// rebinding: the server then sees a new client address).
/// </summary>
public sealed class LossyForwarder : IAsyncDisposable
{
    private readonly Socket _front = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly IPEndPoint _server;
    private readonly Random _random;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<Task> _loops = [];
    private IPAddress _upstreamAddress;
    private Socket _back;
    private IPEndPoint? _client;
    private byte[]? _heldToServer;
    private byte[]? _heldToClient;
    private int _toServerIndex;
    private int _toClientIndex;

    /// <param name="server">Where datagrams from the client go.</param>
    /// <param name="seed">Seeds the drops, duplicates and reorderings.</param>
    /// <param name="upstreamAddress">
    /// The loopback address the server sees the client at (127.0.0.1 when null); another 127.x.y.z makes each forwarder a host of
    /// its own on Linux, where all of 127.0.0.0/8 is loopback, e.g. for per-address bounds.
    /// </param>
    public LossyForwarder(IPEndPoint server, int seed = 1, IPAddress? upstreamAddress = null)
    {
        _server = server;
        _upstreamAddress = upstreamAddress ?? IPAddress.Loopback;
        _random = new Random(seed);
        _front.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _back = NewBack();
        _loops.Add(Task.Run(FrontLoopAsync));
        _loops.Add(Task.Run(() => BackLoopAsync(_back)));
    }

    public IPEndPoint EndPoint => (IPEndPoint)_front.LocalEndPoint!;

    public double LossRate { get; set; }

    public double DuplicationRate { get; set; }

    public double ReorderRate { get; set; }

    /// <summary>Indices (0-based, per direction) of datagrams to drop.</summary>
    public HashSet<int> DropToServer { get; } = [];

    public HashSet<int> DropToClient { get; } = [];

    /// <summary>Drops this many of the next datagrams to the client (set after the handshake to lose a response).</summary>
    public int DropNextToClient { get; set; }

    public int MaxDatagramSeen { get; private set; }

    public int ForwardedToServer => _toServerIndex;

    public int ForwardedToClient => _toClientIndex;

    /// <summary>Inspect/modify datagrams going to the server (null = drop).</summary>
    public Func<byte[], byte[]?>? ToServerFilter { get; set; }

    /// <summary>New upstream socket: the server sees the client at a new address from now on (a new port, and the given host if any).</summary>
    public void Rebind(IPAddress? upstreamAddress = null)
    {
        _upstreamAddress = upstreamAddress ?? _upstreamAddress;
        Socket back = NewBack();
        lock (_lock)
        {
            _back = back;
        }

        _loops.Add(Task.Run(() => BackLoopAsync(back)));
    }

    private Socket NewBack()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(_upstreamAddress, 0));
        return socket;
    }

    private async Task FrontLoopAsync()
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await _front.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _client = (IPEndPoint)r.RemoteEndPoint;
            byte[] datagram = buffer.AsSpan(0, r.ReceivedBytes).ToArray();
            Socket back;
            lock (_lock)
            {
                back = _back;
            }

            await ForwardAsync(datagram, back, _server, toServer: true);
        }
    }

    private async Task BackLoopAsync(Socket back)
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await back.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            if (_client is { } client)
            {
                await ForwardAsync(buffer.AsSpan(0, r.ReceivedBytes).ToArray(), _front, client, toServer: false);
            }
        }
    }

    private async Task ForwardAsync(byte[] datagram, Socket via, IPEndPoint to, bool toServer)
    {
        List<byte[]> send = [];
        lock (_lock)
        {
            MaxDatagramSeen = Math.Max(MaxDatagramSeen, datagram.Length);
            int index = toServer ? _toServerIndex++ : _toClientIndex++;
            if (toServer && ToServerFilter is { } filter)
            {
                datagram = filter(datagram)!;
                if (datagram is null)
                {
                    return;
                }
            }

            if (!toServer && DropNextToClient > 0)
            {
                DropNextToClient--;
                return;
            }

            if ((toServer ? DropToServer : DropToClient).Contains(index) || _random.NextDouble() < LossRate)
            {
                return;
            }

            ref byte[]? held = ref toServer ? ref _heldToServer : ref _heldToClient;
            if (held is null && _random.NextDouble() < ReorderRate)
            {
                held = datagram; // goes out after the next one
                return;
            }

            send.Add(datagram);
            if (_random.NextDouble() < DuplicationRate)
            {
                send.Add(datagram);
            }

            if (held is not null)
            {
                send.Add(held);
                held = null;
            }
        }

        foreach (byte[] d in send)
        {
            try
            {
                await via.SendToAsync(d, SocketFlags.None, to);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _front.Dispose();
        lock (_lock)
        {
            _back.Dispose();
        }

        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception)
        {
        }

        _stop.Dispose();
    }
}
