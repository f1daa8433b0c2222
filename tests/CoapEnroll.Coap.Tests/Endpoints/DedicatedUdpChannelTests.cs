using System.Net;
using System.Net.Sockets;
using System.Text;
using CoapEnroll.Testing;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Endpoints;

/// <summary>
/// <see cref="DedicatedUdpDatagramChannel"/>: a receive thread per socket that completes the pending receive on that thread. Raw
/// sockets on the other side, and a CoAP server on it with many clients at once.
/// </summary>
public class DedicatedUdpChannelTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ManyPeersAtOnce_EachGetsOnlyItsOwnResponses()
    {
        await using var server = new CoapServer();
        server.MapPost("/echo", (ctx, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Changed }
            .WithPayload($"{((IPEndPoint)ctx.RemoteEndPoint).Port}:{ctx.Request.PayloadText}")));
        var endpoint = server.Listen(DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        var serverAddress = (IPEndPoint)endpoint.LocalEndPoint;

        const int Peers = 24;
        const int RequestsPerPeer = 12;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clients = new List<(CoapClient Client, int Port)>();
        try
        {
            for (int i = 0; i < Peers; i++)
            {
                var channel = UdpDatagramChannel.BindEphemeralFor(serverAddress);
                clients.Add((new CoapClient(channel, new CoapClientOptions { Endpoint = new CoapEndpointOptions { NStart = 4 } }),
                    ((IPEndPoint)channel.LocalEndPoint).Port));
            }

            var tasks = clients.SelectMany((c, peer) => Enumerable.Range(0, RequestsPerPeer).Select(async n =>
            {
                string body = $"peer{peer}-request{n}";
                var request = CoapMessage.CreateRequest(CoapCode.Post, "/echo").WithPayload(body);
                var response = await c.Client.SendAsync(request, serverAddress, timeout.Token);
                return (Expected: $"{c.Port}:{body}", Actual: response.PayloadText, response.Code);
            })).ToList();
            var results = await Task.WhenAll(tasks);

            Assert.Equal(Peers * RequestsPerPeer, results.Length);
            Assert.All(results, r =>
            {
                Assert.Equal(CoapCode.Changed, r.Code);
                Assert.Equal(r.Expected, r.Actual);
            });
        }
        finally
        {
            foreach (var (client, _) in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SynchronousHandler_RunsOnTheSocketsReceiveThread_AsyncHandlerStillAnswered()
    {
        string? syncThread = null;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new CoapServer();
        server.MapGet("/sync", (_, _) =>
        {
            syncThread = Thread.CurrentThread.Name;
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload("sync"));
        });
        server.MapGet("/async", async (_, ct) =>
        {
            await release.Task.WaitAsync(ct);
            return new CoapMessage { Code = CoapCode.Content }.WithPayload("async");
        });
        var endpoint = server.Listen(DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        var serverAddress = (IPEndPoint)endpoint.LocalEndPoint;

        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(serverAddress),
            new CoapClientOptions { Endpoint = new CoapEndpointOptions { NStart = 2 } });
        using var timeout = new CancellationTokenSource(Patience);

        // The handler that waits does not hold up the socket: the next request is served meanwhile.
        var pending = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/async"), serverAddress, timeout.Token);
        var sync = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/sync"), serverAddress, timeout.Token);
        Assert.Equal("sync", sync.PayloadText);
        Assert.Equal($"udp rx {serverAddress}", syncThread);

        release.SetResult();
        Assert.Equal("async", (await pending).PayloadText);
    }

    [Fact]
    public async Task RawPeers_RepliesGoOutToTheAddressTheDatagramCameFrom()
    {
        await using var channel = DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        int port = ((IPEndPoint)channel.LocalEndPoint).Port;
        using var v4 = RawPeer(new IPEndPoint(IPAddress.Loopback, port));
        using var v6 = RawPeer(new IPEndPoint(IPAddress.IPv6Loopback, port));
        using var timeout = new CancellationTokenSource(Patience);
        var buffer = new byte[2048];

        foreach (var peer in new[] { v4, v6, v4 })
        {
            byte[] payload = Encoding.ASCII.GetBytes($"from {peer.LocalEndPoint}");
            await peer.SendAsync(payload);
            DatagramReceiveResult received = await channel.ReceiveAsync(buffer, timeout.Token);

            Assert.Equal(payload, buffer.AsSpan(0, received.ReceivedBytes).ToArray());
            var expected = (IPEndPoint)peer.LocalEndPoint!;
            // An IPv4 peer on the dual-mode socket is reported as plain IPv4, and equals any IPEndPoint of that address.
            Assert.Equal(expected, received.RemoteEndPoint);
            Assert.Equal(expected.GetHashCode(), received.RemoteEndPoint.GetHashCode());

            await channel.SendAsync(Encoding.ASCII.GetBytes("reply"), received.RemoteEndPoint, timeout.Token);
            var reply = new byte[64];
            int n = await peer.ReceiveAsync(reply, timeout.Token);
            Assert.Equal("reply", Encoding.ASCII.GetString(reply, 0, n));
        }

        // On Linux the datagrams above came through recvmmsg (replies made on the receive thread leave through sendmmsg: the CoAP tests above).
        Assert.Equal(OperatingSystem.IsLinux(), channel.IsBatched);

        // An endpoint the channel did not hand out is served as well.
        await channel.SendAsync(Encoding.ASCII.GetBytes("direct"), new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)v4.LocalEndPoint!).Port), timeout.Token);
        var direct = new byte[64];
        int m = await v4.ReceiveAsync(direct, timeout.Token);
        Assert.Equal("direct", Encoding.ASCII.GetString(direct, 0, m));
    }

    [Fact]
    public async Task DatagramLargerThanTheReceiveBuffer_IsDropped_AndTheNextOneDelivered()
    {
        await using var channel = DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var peer = RawPeer((IPEndPoint)channel.LocalEndPoint);
        using var timeout = new CancellationTokenSource(Patience);

        await peer.SendAsync(new byte[100]);
        await peer.SendAsync(Encoding.ASCII.GetBytes("small"));
        var buffer = new byte[32];
        DatagramReceiveResult received = await channel.ReceiveAsync(buffer, timeout.Token);

        Assert.Equal("small", Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes));
        Assert.Equal(1, channel.OversizedDropped);
    }

    [Fact]
    public async Task BurstWhileNobodyReceives_IsQueuedByTheKernel_AndDeliveredWholeAndInOrder()
    {
        await using var channel = DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var peer = RawPeer((IPEndPoint)channel.LocalEndPoint);
        using var timeout = new CancellationTokenSource(Patience);

        // 64 small datagrams fit the default socket receive buffer many times over; the thread holds one, the kernel the rest.
        const int Burst = 64;
        for (int i = 0; i < Burst; i++)
        {
            await peer.SendAsync(BitConverter.GetBytes(i));
        }

        await Task.Delay(200);
        var buffer = new byte[64];
        for (int i = 0; i < Burst; i++)
        {
            DatagramReceiveResult received = await channel.ReceiveAsync(buffer, timeout.Token);
            Assert.Equal(4, received.ReceivedBytes);
            Assert.Equal(i, BitConverter.ToInt32(buffer, 0));
        }
    }

    [Fact]
    public async Task CancelledReceive_ThrowsOperationCanceled_AndTheNextReceiveGetsTheNextDatagram()
    {
        await using var channel = DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var peer = RawPeer((IPEndPoint)channel.LocalEndPoint);
        var buffer = new byte[64];

        using (var cancel = new CancellationTokenSource())
        {
            Task<DatagramReceiveResult> receive = channel.ReceiveAsync(buffer, cancel.Token).AsTask();
            Assert.False(receive.IsCompleted);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await receive);
        }

        using var timeout = new CancellationTokenSource(Patience);
        await peer.SendAsync(Encoding.ASCII.GetBytes("after"));
        DatagramReceiveResult received = await channel.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal("after", Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes));
    }

    [Fact]
    public async Task SecondConcurrentReceive_IsRefused()
    {
        await using var channel = DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var cancel = new CancellationTokenSource();
        Task<DatagramReceiveResult> first = channel.ReceiveAsync(new byte[64], cancel.Token).AsTask();

        await Assert.ThrowsAsync<InvalidOperationException>(() => channel.ReceiveAsync(new byte[64], CancellationToken.None).AsTask());

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await first);
    }

    [Fact]
    public async Task Dispose_FailsThePendingReceive_StopsTheThread_AndLaterCallsThrowObjectDisposed()
    {
        var channel = DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var remote = new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)channel.LocalEndPoint).Port);
        Task<DatagramReceiveResult> receive = channel.ReceiveAsync(new byte[64], CancellationToken.None).AsTask();

        // Completes only once the receive thread has left its blocking receive.
        await channel.DisposeAsync().AsTask().WaitAsync(Patience);

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await receive);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await channel.ReceiveAsync(new byte[64], CancellationToken.None));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await channel.SendAsync(new byte[1], remote, CancellationToken.None));
        await channel.DisposeAsync();
    }

    [Fact]
    public async Task ReceiveOrClosed_ReturnsDatagrams_AndEndsAsClosedAtDispose_WithoutAnException()
    {
        var channel = DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        IDatagramChannel asChannel = channel;
        using var peer = RawPeer((IPEndPoint)channel.LocalEndPoint);
        var buffer = new byte[64];
        using var timeout = new CancellationTokenSource(Patience);

        // Waited for (posted before the datagram comes), then already there.
        ValueTask<DatagramReceiveResult> waiting = asChannel.ReceiveOrClosedAsync(buffer, timeout.Token);
        await peer.SendAsync(Encoding.ASCII.GetBytes("first"));
        DatagramReceiveResult first = await waiting;
        Assert.False(first.IsClosed);
        Assert.Equal("first", Encoding.ASCII.GetString(buffer, 0, first.ReceivedBytes));
        Assert.Equal(((IPEndPoint)peer.LocalEndPoint!).Port, ((IPEndPoint)first.RemoteEndPoint).Port);

        await ReceiveOrClosedContract.CancelThenCloseAsync(channel, Patience);
    }

    [Fact]
    public async Task ServerDisposal_EndsTheEndpoint_AndThePortIsFree()
    {
        var server = new CoapServer();
        server.MapGet("/a", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }));
        var endpoint = server.Listen(DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        var serverAddress = (IPEndPoint)endpoint.LocalEndPoint;
        await using (var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(serverAddress)))
        {
            using var timeout = new CancellationTokenSource(Patience);
            Assert.Equal(CoapCode.Content, (await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/a"), serverAddress, timeout.Token)).Code);
        }

        await server.DisposeAsync().AsTask().WaitAsync(Patience);

        // The socket is closed: the same port binds again.
        await using var again = DedicatedUdpDatagramChannel.Bind(serverAddress);
        Assert.Equal(serverAddress, again.LocalEndPoint);
    }

    private static Socket RawPeer(IPEndPoint server)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
        socket.Connect(server);
        return socket;
    }
}
