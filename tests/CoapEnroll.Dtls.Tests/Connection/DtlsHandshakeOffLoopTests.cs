using System.Net;
using System.Text;
using CoapEnroll.Transport;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// A handshaking connection's datagrams are processed off the server's receive loop: one slow handshake step (here a PSK lookup that
/// waits, as a lookup in a database can) holds only its own connection, while other peers complete their handshakes and exchange data.
/// </summary>
public class DtlsHandshakeOffLoopTests
{
    private static readonly byte[] s_slowIdentity = Encoding.UTF8.GetBytes("slow-device");

    // A handshake record of an epoch no connection has: the connection drops it when it gets to it.
    private static readonly byte[] s_unknownEpochRecord = [(byte)ContentType.Handshake, 0xFE, 0xFD, 0, 5, 0, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4];

    [Fact]
    public async Task SlowHandshakeStep_DoesNotHoldOtherPeersHandshakes()
    {
        var lookup = new SlowPskLookup();
        await using DtlsServerChannel server = lookup.BindServer();
        var endPoint = (IPEndPoint)server.LocalEndPoint;

        Task<DtlsClientChannel> slow = DtlsClientChannel.ConnectAsync(endPoint, Psk(s_slowIdentity), DtlsLoopbackTests.Timeout(60));
        try
        {
            await lookup.Started.WaitAsync(TimeSpan.FromSeconds(15));

            // While the slow device's step waits, two others get in and are answered; on the receive loop they would wait behind it.
            for (int i = 0; i < 2; i++)
            {
                await using DtlsClientChannel fast = await DtlsClientChannel.ConnectAsync(endPoint, Psk(DtlsLoopbackTests.s_pskIdentity), DtlsLoopbackTests.Timeout(10));
                await DtlsLoopbackTests.ExchangeAsync(fast, server, $"fast-{i}");
            }

            Assert.False(slow.IsCompleted);
        }
        finally
        {
            lookup.Release();
        }

        await using DtlsClientChannel slowClient = await slow;
        await DtlsLoopbackTests.ExchangeAsync(slowClient, server, "slow");
    }

    [Fact]
    public async Task HandshakeQueue_IsBoundedPerConnection_AndTheHandshakeStillCompletes()
    {
        using var meters = new MeterRecorder("CoapEnroll.Dtls");
        var lookup = new SlowPskLookup();
        await using DtlsServerChannel server = lookup.BindServer();
        var endPoint = (IPEndPoint)server.LocalEndPoint;

        // The client's own socket, so that the test can send from the connection's address too.
        UdpDatagramChannel transport = UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Task<DtlsClientChannel> slow = DtlsClientChannel.ConnectAsync(transport, endPoint, Psk(s_slowIdentity), DtlsLoopbackTests.Timeout(60));
        const int Flood = 40;
        try
        {
            await lookup.Started.WaitAsync(TimeSpan.FromSeconds(15));

            // Each record is queued behind the waiting step, or dropped at the bound.
            for (int i = 0; i < Flood; i++)
            {
                await transport.SendAsync(s_unknownEpochRecord, endPoint, CancellationToken.None);
            }

            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (server.QueuedHandshakeDatagrams + server.DroppedHandshakeDatagrams < Flood && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(10);
            }

            Assert.Equal(DtlsServerChannel.MaxQueuedHandshakeDatagramsPerConnection, server.QueuedHandshakeDatagrams);
            Assert.True(server.DroppedHandshakeDatagrams >= Flood - DtlsServerChannel.MaxQueuedHandshakeDatagramsPerConnection,
                $"dropped {server.DroppedHandshakeDatagrams}");
            Assert.True(meters.Sum("dtls.handshake_datagrams.dropped", "connection") >= Flood - DtlsServerChannel.MaxQueuedHandshakeDatagramsPerConnection);
        }
        finally
        {
            lookup.Release();
        }

        await using DtlsClientChannel client = await slow;
        await DtlsLoopbackTests.ExchangeAsync(client, server, "after the flood");

        // The queued records are drained by a work item of their own, which may still be at it when the session is already
        // up (a full run once saw 14 of 16 left at this point): the queue must empty, not at once.
        var drain = System.Diagnostics.Stopwatch.StartNew();
        while (server.QueuedHandshakeDatagrams != 0 && drain.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
        }

        Assert.Equal(0, server.QueuedHandshakeDatagrams);
    }

    [Fact]
    public async Task FullHandshakeQueue_RefusesNewConnectionsInsteadOfAdmittingThemIdle()
    {
        using var meters = new MeterRecorder("CoapEnroll.Dtls");
        var lookup = new SlowPskLookup();
        await using DtlsServerChannel server = lookup.BindServer();
        server.BacklogByteLimit = 200; // a dozen of the records below, fewer than one connection may queue
        var endPoint = (IPEndPoint)server.LocalEndPoint;

        UdpDatagramChannel transport = UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Task<DtlsClientChannel> slow = DtlsClientChannel.ConnectAsync(transport, endPoint, Psk(s_slowIdentity), DtlsLoopbackTests.Timeout(60));
        try
        {
            await lookup.Started.WaitAsync(TimeSpan.FromSeconds(15));

            // Fill the queue (all of it, for all connections) behind the slow step.
            for (int i = 0; i < DtlsServerChannel.MaxQueuedHandshakeDatagramsPerConnection; i++)
            {
                await transport.SendAsync(s_unknownEpochRecord, endPoint, CancellationToken.None);
            }

            await DtlsLoopbackTests.WaitUntil(() => server.DroppedHandshakeDatagrams >= 1, 10_000);
            Assert.True(meters.Sum("dtls.handshake_datagrams.dropped", "global") >= 1);
            long droppedBefore = meters.Sum("dtls.handshake_datagrams.dropped", "global");

            // Another device's cookie-verified ClientHello finds no room: it is dropped before a connection is made for it.
            await Assert.ThrowsAnyAsync<Exception>(() => DtlsClientChannel.ConnectAsync(endPoint,
                Psk(DtlsLoopbackTests.s_pskIdentity, maxRetransmissions: 2), DtlsLoopbackTests.Timeout(10)));
            Assert.True(meters.Sum("dtls.handshake_datagrams.dropped", "global") > droppedBefore);
            Assert.Equal(1, server.HandshakeCount);
        }
        finally
        {
            lookup.Release();
        }

        await using DtlsClientChannel slowClient = await slow;
        await DtlsLoopbackTests.ExchangeAsync(slowClient, server, "slow");

        // With the queue drained the other device gets in.
        await using DtlsClientChannel later = await DtlsClientChannel.ConnectAsync(endPoint, Psk(DtlsLoopbackTests.s_pskIdentity), DtlsLoopbackTests.Timeout(10));
        await DtlsLoopbackTests.ExchangeAsync(later, server, "later");
    }

    /// <summary>
    /// A server's PSK lookup that waits for <see cref="Release"/> for <see cref="s_slowIdentity"/> (as a lookup in a database can) and
    /// answers the usual test identity at once.
    /// </summary>
    private sealed class SlowPskLookup
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the slow identity's lookup has begun to wait.</summary>
        public Task Started => _started.Task;

        public void Release() => _release.TrySetResult();

        public DtlsServerChannel BindServer() => DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions(o =>
        {
            o.MaxRetransmissions = 30;
            o.PskKeyLookup = async (identity, ct) =>
            {
                if (identity.Span.SequenceEqual(s_slowIdentity))
                {
                    _started.TrySetResult();
                    await _release.Task.WaitAsync(ct);
                    return DtlsLoopbackTests.s_psk;
                }

                return identity.Span.SequenceEqual(DtlsLoopbackTests.s_pskIdentity) ? DtlsLoopbackTests.s_psk : null;
            };
        }));
    }

    private static DtlsClientOptions Psk(byte[] identity, int maxRetransmissions = 30) => DtlsLoopbackTests.ClientOptions(o =>
    {
        o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
        o.PskIdentity = identity;
        o.PskKey = DtlsLoopbackTests.s_psk;
        o.MaxRetransmissions = maxRetransmissions;
    });
}
