using System.Net;
using System.Net.Sockets;
using CoapEnroll.Transport;
using Xunit.Abstractions;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// Issue 11 item 3: no state is kept for a peer before it returns a valid cookie (RFC 6347 §4.2.1). 100,000 cookie-less
/// ClientHellos from 1,000 source ports leave the connection table empty and the managed heap where it was.
/// </summary>
[Collection(nameof(DtlsResourceCollection))]
public class DtlsCookielessFloodTests(ITestOutputHelper output)
{
    private const int Sources = 1000;
    private const int Hellos = 100_000;

    // At most this many ClientHellos unanswered at once, so that the server's socket buffer never overflows and every one is handled.
    private const int Window = 64;

    /// <summary>
    /// A connection for each source would be a few kilobytes, and 100 bytes kept per ClientHello would be 10 MB: either
    /// breaks this bound by far, while the heap's own noise between two full collections is tens of kilobytes.
    /// </summary>
    private const long MaxHeapGrowth = 512 * 1024;

    [Fact]
    public async Task Cookieless_ClientHellos_from_many_ports_keep_no_state()
    {
        var transport = new CountingTransport(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        await using var server = new DtlsServerChannel(transport, DtlsLoopbackTests.ServerOptions());
        var endpoint = (IPEndPoint)server.LocalEndPoint;
        var sockets = new Socket[Sources];
        try
        {
            for (int i = 0; i < sockets.Length; i++)
            {
                sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                sockets[i].Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }

            using var template = new ManualClient(endpoint);
            byte[] hello = template.Plain(template.Hello([], CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8), transcript: false);

            // Warm up (JIT, pools, the socket's buffers) with one ClientHello per source, so that the measurement sees only what stays.
            await FloodAsync(sockets, hello, endpoint, transport, Sources);
            long before = FullyCollectedHeap();
            long answeredBefore = transport.Sent;

            int lost = await FloodAsync(sockets, hello, endpoint, transport, Hellos);
            long answered = transport.Sent - answeredBefore;
            long after = FullyCollectedHeap();

            output.WriteLine($"{Hellos} cookie-less ClientHellos from {Sources} ports: {answered} HelloVerifyRequests, {lost} unanswered, "
                + $"managed heap {before} -> {after} bytes ({after - before:+#;-#;0}), connections {server.ConnectionCount}, handshakes {server.HandshakeCount}");
            Assert.Equal(0, server.ConnectionCount);
            Assert.Equal(0, server.HandshakeCount);

            // Nearly all were handled (a datagram lost on the loopback is not answered, and holds nothing either).
            Assert.True(answered >= Hellos * 99L / 100, $"only {answered} of {Hellos} ClientHellos were answered");
            Assert.True(after - before < MaxHeapGrowth, $"the managed heap grew by {after - before} bytes over {Hellos} cookie-less ClientHellos");

            // The server still completes a handshake afterwards.
            await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(endpoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
            await DtlsLoopbackTests.ExchangeAsync(client, server, "after-flood");
        }
        finally
        {
            foreach (Socket? socket in sockets)
            {
                socket?.Dispose();
            }
        }
    }

    /// <summary>Sends <paramref name="count"/> ClientHellos round-robin over the sockets, at most <see cref="Window"/> unanswered; returns how many went unanswered.</summary>
    private static async Task<int> FloodAsync(Socket[] sockets, byte[] hello, IPEndPoint server, CountingTransport transport, int count)
    {
        int lost = 0;
        for (int i = 0; i < count; i++)
        {
            // A ClientHello lost on the way is never answered: after a quiet second, stop waiting for its credit.
            if (i >= Window && !await transport.Answered.WaitAsync(TimeSpan.FromSeconds(1)))
            {
                lost++;
            }

            await sockets[i % sockets.Length].SendToAsync(hello, SocketFlags.None, server);
        }

        // Collect the last window's answers.
        for (int i = 0; i < Math.Min(Window, count); i++)
        {
            if (!await transport.Answered.WaitAsync(TimeSpan.FromSeconds(1)))
            {
                lost++;
            }
        }

        return lost;
    }

    private static long FullyCollectedHeap()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Counts the datagrams the server sends (here only HelloVerifyRequests) and releases a credit for each.</summary>
    private sealed class CountingTransport(IDatagramChannel inner) : IDatagramChannel
    {
        private long _sent;

        public SemaphoreSlim Answered { get; } = new(0);

        public long Sent => Interlocked.Read(ref _sent);

        public EndPoint LocalEndPoint => inner.LocalEndPoint;

        public int MaxDatagramSize => inner.MaxDatagramSize;

        public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            inner.ReceiveAsync(buffer, cancellationToken);

        public async ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken)
        {
            await inner.SendAsync(datagram, remoteEndPoint, cancellationToken);
            Interlocked.Increment(ref _sent);
            Answered.Release();
        }

        public ValueTask DisposeAsync()
        {
            Answered.Dispose();
            return inner.DisposeAsync();
        }
    }
}
