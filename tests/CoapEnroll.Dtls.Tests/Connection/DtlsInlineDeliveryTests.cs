using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using CoapEnroll.Testing;
using CoapEnroll.Transport;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// Decrypted application data goes straight to a waiting reader on the server's receive loop (on the transport's receive thread
/// when it has one), which replies there without waiting for the connection's lock; a reader that is not waiting finds it in a
/// FIFO bounded per session and in total (<see cref="ApplicationDataInbox"/>).
/// </summary>
public class DtlsInlineDeliveryTests
{
    [Fact]
    public async Task WaitingReader_RunsOnTheReceiveThread_AndItsReplyCompletesThereAtOnce()
    {
        await using var server = new DtlsServerChannel(DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)), DtlsLoopbackTests.ServerOptions());
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());

        // An echo loop shaped like the CoAP endpoint's: answer from the continuation, then ask for the next datagram.
        const int Count = 40;
        var threads = new List<string?>();
        int repliesThatWaited = 0;
        async Task EchoAsync()
        {
            byte[] buffer = new byte[2048];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            for (int i = 0; i < Count; i++)
            {
                DatagramReceiveResult result = await server.ReceiveAsync(buffer, timeout.Token).ConfigureAwait(false);
                threads.Add(Thread.CurrentThread.Name);
                ValueTask reply = server.SendAsync(buffer.AsMemory(0, result.ReceivedBytes), result.RemoteEndPoint, default);
                if (!reply.IsCompleted)
                {
                    repliesThatWaited++;
                }

                await reply.ConfigureAwait(false);
            }
        }

        Task echo = EchoAsync();
        for (int i = 0; i < Count; i++)
        {
            await client.SendAsync(Make(i), client.RemoteEndPoint, default);
            (byte[] reply, _) = await DtlsLoopbackTests.ReceiveAsync(client);
            Assert.Equal(Make(i), reply);
        }

        await echo;
        Assert.Equal(Count, threads.Count);
        Assert.All(threads, name => Assert.StartsWith("udp rx ", name));
        Assert.Equal(0, repliesThatWaited);
        Assert.Equal(0, server.QueuedApplicationData);
    }

    [Fact]
    public async Task Burst_ToAnInlineReader_ArrivesWholeAndInOrder()
    {
        await using var server = new DtlsServerChannel(DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)), DtlsLoopbackTests.ServerOptions());
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());

        const int Count = 64;
        var indices = new List<int>();
        async Task ReadAsync()
        {
            byte[] buffer = new byte[2048];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (indices.Count < Count)
            {
                DatagramReceiveResult result = await server.ReceiveAsync(buffer, timeout.Token).ConfigureAwait(false);
                int index = BinaryPrimitives.ReadInt32BigEndian(buffer);
                Assert.Equal(Make(index), buffer.AsSpan(0, result.ReceivedBytes).ToArray());
                indices.Add(index);
            }
        }

        Task reading = ReadAsync();
        for (int i = 0; i < Count; i++)
        {
            await client.SendAsync(Make(i), client.RemoteEndPoint, default);
        }

        await reading;
        Assert.Equal(Enumerable.Range(0, Count), indices);
        Assert.Equal(0, server.DroppedApplicationData);
    }

    [Fact]
    public async Task ReaderNotWaiting_EachSessionQueuesUpToItsBound_InOrder_AndTheRestIsDroppedAndCounted()
    {
        await using var server = new DtlsServerChannel(DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)), DtlsLoopbackTests.ServerOptions());
        await using DtlsClientChannel flooding = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        await using DtlsClientChannel other = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());

        // Nobody reads. One session sends far more than its share, then another session sends a few.
        const int Flood = 300;
        const int Few = 20;
        for (int i = 0; i < Flood; i++)
        {
            await flooding.SendAsync(Make(i), flooding.RemoteEndPoint, default);
            if (i % 20 == 19)
            {
                await Task.Delay(5); // below the socket's receive buffer: the bound under test is the channel's, not the kernel's
            }
        }

        for (int i = 0; i < Few; i++)
        {
            await other.SendAsync(Make(1000 + i), other.RemoteEndPoint, default);
        }

        int expected = DtlsServerChannel.MaxQueuedApplicationDataPerSession + Few;
        using (var settle = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (server.QueuedApplicationData < expected && !settle.IsCancellationRequested)
            {
                await Task.Delay(20);
            }
        }

        Assert.Equal(expected, server.QueuedApplicationData);
        Assert.InRange(server.DroppedApplicationData, 1, Flood - DtlsServerChannel.MaxQueuedApplicationDataPerSession);

        // The oldest datagrams are kept, each session's in its order; the other session lost nothing.
        var fromFlooding = new List<int>();
        var fromOther = new List<int>();
        byte[] buffer = new byte[2048];
        for (int i = 0; i < expected; i++)
        {
            DatagramReceiveResult result = await server.ReceiveAsync(buffer, DtlsLoopbackTests.Timeout());
            int index = BinaryPrimitives.ReadInt32BigEndian(buffer);
            Assert.Equal(Make(index), buffer.AsSpan(0, result.ReceivedBytes).ToArray());
            (index >= 1000 ? fromOther : fromFlooding).Add(index);
        }

        Assert.Equal(Enumerable.Range(0, DtlsServerChannel.MaxQueuedApplicationDataPerSession), fromFlooding);
        Assert.Equal(Enumerable.Range(1000, Few), fromOther);
        Assert.Equal(0, server.QueuedApplicationData);

        // Drained, the session is served inline again.
        await DtlsLoopbackTests.ExchangeAsync(flooding, server, "after");
    }

    [Fact]
    public async Task Dispose_FailsTheWaitingReader_AndLaterReceives()
    {
        var server = new DtlsServerChannel(DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)), DtlsLoopbackTests.ServerOptions());
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(client, server);

        Task<DatagramReceiveResult> pending = server.ReceiveAsync(new byte[2048], CancellationToken.None).AsTask();
        Assert.False(pending.IsCompleted);
        await server.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await pending);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await server.ReceiveAsync(new byte[2048], CancellationToken.None));
    }

    [Fact]
    public async Task ReceiveOrClosed_ReturnsData_AndEndsAsClosedAtDispose_WithoutAnException()
    {
        var server = new DtlsServerChannel(DedicatedUdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)), DtlsLoopbackTests.ServerOptions());
        IDatagramChannel asChannel = server;
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        byte[] buffer = new byte[2048];

        ValueTask<DatagramReceiveResult> waiting = asChannel.ReceiveOrClosedAsync(buffer, DtlsLoopbackTests.Timeout());
        await client.SendAsync("hello"u8.ToArray(), client.RemoteEndPoint, default);
        DatagramReceiveResult received = await waiting;
        Assert.False(received.IsClosed);
        Assert.Equal("hello"u8.ToArray(), buffer.AsSpan(0, received.ReceivedBytes).ToArray());
        Assert.IsType<DtlsSessionEndPoint>(received.RemoteEndPoint);

        await ReceiveOrClosedContract.CancelThenCloseAsync(server, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Inbox_Bounds_PerSessionAndTotal_InOrder()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        (DtlsConnection a, DtlsConnection b) = await TwoConnectionsAsync(server);
        var inbox = new ApplicationDataInbox(maxQueued: 4, maxQueuedPerSession: 3);

        for (int i = 0; i < 4; i++)
        {
            inbox.Deliver(Pooled(i), a); // the fourth is over a's bound
        }

        inbox.Deliver(Pooled(10), b);
        inbox.Deliver(Pooled(11), b); // over the total bound
        Assert.Equal(4, inbox.Count);
        Assert.Equal(2, inbox.Dropped);

        byte[] buffer = new byte[2048];
        var order = new List<(int Index, EndPoint From)>();
        for (int i = 0; i < 4; i++)
        {
            Task<DatagramReceiveResult> receive = inbox.ReceiveAsync(buffer, CancellationToken.None).AsTask();
            Assert.True(receive.IsCompletedSuccessfully, "a queued datagram is read at once");
            DatagramReceiveResult result = await receive;
            Assert.Equal(Make(BinaryPrimitives.ReadInt32BigEndian(buffer)), buffer.AsSpan(0, result.ReceivedBytes).ToArray());
            order.Add((BinaryPrimitives.ReadInt32BigEndian(buffer), result.RemoteEndPoint));
        }

        Assert.Equal([(0, a.EndPoint), (1, a.EndPoint), (2, a.EndPoint), (10, b.EndPoint)], order);
        Assert.Equal(0, a.QueuedApplicationData);
        Assert.Equal(0, b.QueuedApplicationData);

        // Room again for a: its bound counts what is queued, not what was delivered.
        inbox.Deliver(Pooled(4), a);
        Assert.Equal(1, inbox.Count);
        Assert.Equal(2, inbox.Dropped);
        inbox.Close(discardQueued: true);
        Assert.Equal(0, a.QueuedApplicationData);
    }

    [Fact]
    public async Task Inbox_CompletesAWaitingReaderOnTheDeliveringThread()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        (DtlsConnection a, _) = await TwoConnectionsAsync(server);
        var inbox = new ApplicationDataInbox(8, 8);

        byte[] buffer = new byte[2048];
        int continuationThread = -1;
        async Task ReadAsync()
        {
            DatagramReceiveResult result = await inbox.ReceiveAsync(buffer, CancellationToken.None).ConfigureAwait(false);
            continuationThread = Environment.CurrentManagedThreadId;
            Assert.Equal(Make(5), buffer.AsSpan(0, result.ReceivedBytes).ToArray());
            Assert.Same(a.EndPoint, result.RemoteEndPoint);
        }

        Task reading = ReadAsync();
        Assert.False(reading.IsCompleted);
        int deliveringThread = -1;
        var thread = new Thread(() =>
        {
            deliveringThread = Environment.CurrentManagedThreadId;
            inbox.Deliver(Pooled(5), a);
        });
        thread.Start();
        thread.Join();

        // The continuation ran inside Deliver: done when the thread was.
        Assert.True(reading.IsCompleted);
        await reading;
        Assert.Equal(deliveringThread, continuationThread);
        Assert.Equal(0, inbox.Count);
    }

    [Fact]
    public async Task Inbox_Cancel_OneReaderAtATime_AndClose()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        (DtlsConnection a, _) = await TwoConnectionsAsync(server);
        var inbox = new ApplicationDataInbox(8, 8);
        byte[] buffer = new byte[2048];

        // Cancelled while waiting; the next receive gets the next datagram.
        using (var cts = new CancellationTokenSource())
        {
            Task<DatagramReceiveResult> waiting = inbox.ReceiveAsync(buffer, cts.Token).AsTask();
            // Thrown by the call itself, not through the returned task.
            Assert.Throws<InvalidOperationException>(() => { _ = inbox.ReceiveAsync(buffer, CancellationToken.None).AsTask(); });
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
        }

        Task<DatagramReceiveResult> next = inbox.ReceiveAsync(buffer, CancellationToken.None).AsTask();
        inbox.Deliver(Pooled(1), a);
        Assert.Equal(Make(1).Length, (await next).ReceivedBytes);

        // Closed without discarding: what is queued is still read, then ObjectDisposedException; later deliveries are dropped
        // with their plaintext zeroed.
        inbox.Deliver(Pooled(2), a);
        inbox.Close(discardQueued: false);
        byte[] late = Rent(3, out PooledDatagram lateDatagram);
        inbox.Deliver(lateDatagram, a);
        Assert.True(late.AsSpan(0, Make(3).Length).IndexOfAnyExcept((byte)0) < 0, "plaintext left in a dropped datagram's buffer");
        Assert.Equal(Make(2).Length, (await inbox.ReceiveAsync(buffer, CancellationToken.None)).ReceivedBytes);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await inbox.ReceiveAsync(buffer, CancellationToken.None));

        // Closed with a reader waiting on an empty inbox; discarding zeroes what was queued.
        var closing = new ApplicationDataInbox(8, 8);
        byte[] queued = Rent(4, out PooledDatagram queuedDatagram);
        closing.Deliver(queuedDatagram, a);
        closing.Close(discardQueued: true);
        Assert.True(queued.AsSpan(0, Make(4).Length).IndexOfAnyExcept((byte)0) < 0, "plaintext left in a discarded datagram's buffer");
        Assert.Equal(0, a.QueuedApplicationData);
        var waitingAtClose = new ApplicationDataInbox(8, 8);
        Task<DatagramReceiveResult> reader = waitingAtClose.ReceiveAsync(buffer, CancellationToken.None).AsTask();
        waitingAtClose.Close(discardQueued: true);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await reader);

        // A reader that asked for it gets Closed instead, waiting or not, once what was queued is read.
        var closedAsResult = new ApplicationDataInbox(8, 8);
        Task<DatagramReceiveResult> orClosed = closedAsResult.ReceiveAsync(buffer, closedAsResult: true, CancellationToken.None).AsTask();
        closedAsResult.Close(discardQueued: false);
        Assert.True((await orClosed).IsClosed);
        var drained = new ApplicationDataInbox(8, 8);
        drained.Deliver(Pooled(5), a);
        drained.Close(discardQueued: false);
        Assert.Equal(Make(5).Length, (await drained.ReceiveAsync(buffer, closedAsResult: true, CancellationToken.None)).ReceivedBytes);
        Assert.True((await drained.ReceiveAsync(buffer, closedAsResult: true, CancellationToken.None)).IsClosed);
    }

    private static async Task<(DtlsConnection A, DtlsConnection B)> TwoConnectionsAsync(DtlsServerChannel server)
    {
        var endPoint = (IPEndPoint)server.LocalEndPoint;
        await using DtlsClientChannel first = await DtlsClientChannel.ConnectAsync(endPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        await using DtlsClientChannel second = await DtlsClientChannel.ConnectAsync(endPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        DtlsSessionEndPoint a = await DtlsLoopbackTests.ExchangeAsync(first, server, "a");
        DtlsSessionEndPoint b = await DtlsLoopbackTests.ExchangeAsync(second, server, "b");
        return (a.Connection, b.Connection);
    }

    private static PooledDatagram Pooled(int index)
    {
        Rent(index, out PooledDatagram datagram);
        return datagram;
    }

    private static byte[] Rent(int index, out PooledDatagram datagram)
    {
        byte[] data = Make(index);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(buffer, 0);
        datagram = new PooledDatagram(buffer, data.Length);
        return buffer;
    }

    /// <summary>4-byte index, then bytes derived from it; 12 to 611 bytes long.</summary>
    private static byte[] Make(int index)
    {
        byte[] data = new byte[12 + (index * 37 % 600)];
        BinaryPrimitives.WriteInt32BigEndian(data, index);
        for (int i = 4; i < data.Length; i++)
        {
            data[i] = (byte)(index * 31 + i);
        }

        return data;
    }
}
