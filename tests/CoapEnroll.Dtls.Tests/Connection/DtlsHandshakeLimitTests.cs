using System.Net;
using CoapEnroll.Testing;

namespace CoapEnroll.Dtls.Tests;

/// <summary>Measurements of the process-wide meter <c>CoapEnroll.Dtls</c>, and the managed heap, are only this collection's while nothing else runs.</summary>
[CollectionDefinition(nameof(DtlsResourceCollection), DisableParallelization = true)]
public sealed class DtlsResourceCollection;

/// <summary>
/// Handshakes in progress are bounded per source address (<see cref="DtlsServerOptions.MaxHandshakesPerAddress"/>) and in total
/// (<see cref="DtlsServerOptions.MaxHandshakes"/>): a cookie-verified ClientHello beyond a bound is dropped before any state is
/// made, counted on <c>dtls.handshakes.refused</c> and logged, and other peers are still served.
/// </summary>
[Collection(nameof(DtlsResourceCollection))]
public class DtlsHandshakeLimitTests
{
    private const CipherSuite Ecdhe = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;

    [Fact]
    public async Task One_address_past_MaxHandshakesPerAddress_is_refused_and_another_address_is_served()
    {
        using var meters = new MeterRecorder("CoapEnroll.Dtls");
        using var logs = new CapturingLoggerProvider();
        using var loggerFactory = logs.CreateFactory();
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions(o =>
        {
            o.MaxHandshakesPerAddress = 3;
            o.LoggerFactory = loggerFactory;
        }));
        var endpoint = (IPEndPoint)server.LocalEndPoint;
        var holders = new List<ManualClient>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var holder = new ManualClient(endpoint);
                holders.Add(holder);
                await holder.HandshakeToServerHelloDoneAsync(Ecdhe);
            }

            Assert.Equal(3, server.HandshakeCount);
            Assert.Equal(3, meters.Sum("dtls.handshakes.active"));

            // A fourth port of the same address proves its address with a valid cookie and still gets no ServerHello.
            using var refused = new ManualClient(endpoint);
            byte[] cookie = await refused.ExchangeCookieAsync(Ecdhe);
            await refused.SendAsync(refused.Plain(refused.Hello(cookie, Ecdhe)));
            await DtlsLoopbackTests.WaitUntil(() => meters.Sum("dtls.handshakes.refused", "address") >= 1, 10_000);
            Assert.Empty(await refused.ReceiveAllAsync(600));
            Assert.Equal(3, server.HandshakeCount);
            Assert.Equal(3, server.ConnectionCount);
            Assert.Equal(0, meters.Sum("dtls.handshakes.refused", "global"));

            // Its retransmissions are refused too, and logged once per interval, naming the bound.
            for (int i = 0; i < 5; i++)
            {
                await refused.SendAsync(refused.Plain(refused.Hello(cookie, Ecdhe)));
            }

            await DtlsLoopbackTests.WaitUntil(() => meters.Sum("dtls.handshakes.refused", "address") >= 6, 10_000);
            var line = Assert.Single(logs.Entries, e => e.EventId.Id == 108);
            Assert.Contains("Dtls:MaxHandshakesPerAddress", line.Message, StringComparison.Ordinal);
            Assert.Contains(refused.Udp.Client.LocalEndPoint!.ToString()!, line.Message, StringComparison.Ordinal);

            // Another address is admitted meanwhile.
            using var other = new ManualClient(endpoint, IPAddress.Parse("127.0.0.2"));
            await other.HandshakeToServerHelloDoneAsync(Ecdhe);
            Assert.Equal(4, server.HandshakeCount);

            // A handshake that ends gives its address the room back: a fatal alert from one holder closes its connection.
            await holders[0].SendAsync(holders[0].PlainRecord(ContentType.Alert, [(byte)AlertLevel.Fatal, (byte)AlertDescription.HandshakeFailure]));
            await DtlsLoopbackTests.WaitUntil(() => server.HandshakeCount == 3, 10_000);
            await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(endpoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
            await DtlsLoopbackTests.ExchangeAsync(client, server, "after-limit");
            Assert.Equal(3, server.HandshakeCount);
        }
        finally
        {
            holders.ForEach(h => h.Dispose());
        }
    }

    [Fact]
    public async Task An_address_at_MaxConnectionsPerAddress_makes_room_by_closing_its_least_recently_active_session()
    {
        using var meters = new MeterRecorder("CoapEnroll.Dtls");
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0),
            DtlsLoopbackTests.ServerOptions(o => o.MaxConnectionsPerAddress = 2));
        var endpoint = (IPEndPoint)server.LocalEndPoint;
        await using DtlsClientChannel first = await DtlsClientChannel.ConnectAsync(endpoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        DtlsSessionEndPoint firstSession = await DtlsLoopbackTests.ExchangeAsync(first, server, "first");
        await using DtlsClientChannel second = await DtlsClientChannel.ConnectAsync(endpoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(second, server, "second");
        await DtlsLoopbackTests.ExchangeAsync(first, server, "first again"); // second is now the least recently active
        await DtlsLoopbackTests.ExchangeAsync(first, server, "first once more");
        Assert.Equal(2, server.ConnectionsOfAddress(IPAddress.Loopback));

        // A cookie proves only that the sender receives at the address: a handshake that has not completed closes nothing.
        using (var halfway = new ManualClient(endpoint))
        {
            await halfway.HandshakeToServerHelloDoneAsync(Ecdhe);
            Assert.Equal(3, server.ConnectionsOfAddress(IPAddress.Loopback));
            Assert.Equal(0, meters.Sum("dtls.connections.evicted", "address-connections"));
            await DtlsLoopbackTests.ExchangeAsync(second, server, "second still talks");
            await halfway.SendAsync(halfway.PlainRecord(ContentType.Alert, [(byte)AlertLevel.Fatal, (byte)AlertDescription.HandshakeFailure]));
            await DtlsLoopbackTests.WaitUntil(() => server.ConnectionsOfAddress(IPAddress.Loopback) == 2, 10_000);
        }

        await DtlsLoopbackTests.ExchangeAsync(first, server, "first after the half-way one");
        await using DtlsClientChannel third = await DtlsClientChannel.ConnectAsync(endpoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(third, server, "third");
        Assert.Equal(1, meters.Sum("dtls.connections.evicted", "address-connections"));
        Assert.Equal(2, server.ConnectionsOfAddress(IPAddress.Loopback));
        await DtlsLoopbackTests.WaitUntil(() => server.ConnectionCount == 2, 10_000);
        int[] ports = [.. server.GetConnections().Select(c => c.Remote.Port).Order()];
        Assert.Equal([.. new[] { firstSession.RemoteEndPoint.Port, ((IPEndPoint)third.LocalEndPoint).Port }.Order()], ports);
        await DtlsLoopbackTests.ExchangeAsync(first, server, "first still talks");
        Assert.Equal(0, meters.Sum("dtls.handshakes.refused", "address-connections"));
    }

    [Fact]
    public async Task An_address_at_MaxConnectionsPerAddress_with_only_handshakes_is_refused_and_another_address_is_served()
    {
        using var meters = new MeterRecorder("CoapEnroll.Dtls");
        using var logs = new CapturingLoggerProvider();
        using var loggerFactory = logs.CreateFactory();
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions(o =>
        {
            o.MaxConnectionsPerAddress = 2;
            o.LoggerFactory = loggerFactory;
        }));
        var endpoint = (IPEndPoint)server.LocalEndPoint;
        using var holder1 = new ManualClient(endpoint);
        using var holder2 = new ManualClient(endpoint);
        await holder1.HandshakeToServerHelloDoneAsync(Ecdhe);
        await holder2.HandshakeToServerHelloDoneAsync(Ecdhe);
        Assert.Equal(2, server.ConnectionsOfAddress(IPAddress.Loopback));

        // No established session of its own to close: a third port of the address gets no ServerHello.
        using var refused = new ManualClient(endpoint);
        byte[] cookie = await refused.ExchangeCookieAsync(Ecdhe);
        await refused.SendAsync(refused.Plain(refused.Hello(cookie, Ecdhe)));
        await DtlsLoopbackTests.WaitUntil(() => meters.Sum("dtls.handshakes.refused", "address-connections") >= 1, 10_000);
        Assert.Empty(await refused.ReceiveAllAsync(600));
        Assert.Equal(2, server.ConnectionCount);
        Assert.Equal(0, meters.Sum("dtls.connections.evicted", "address-connections"));
        var line = Assert.Single(logs.Entries, e => e.EventId.Id == 108);
        Assert.Contains("Dtls:MaxConnectionsPerAddress", line.Message, StringComparison.Ordinal);

        using var other = new ManualClient(endpoint, IPAddress.Parse("127.0.0.2"));
        await other.HandshakeToServerHelloDoneAsync(Ecdhe);
        Assert.Equal(1, server.ConnectionsOfAddress(IPAddress.Parse("127.0.0.2")));
    }

    [Fact]
    public async Task A_device_that_handshakes_again_from_the_same_address_and_port_replaces_its_session_at_the_bound()
    {
        using var meters = new MeterRecorder("CoapEnroll.Dtls");
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions(o => o.MaxConnectionsPerAddress = 1));
        await using var forwarder = new LossyForwarder((IPEndPoint)server.LocalEndPoint);
        DtlsClientChannel before = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, DtlsLoopbackTests.ClientOptions(o => o.EnableConnectionId = false), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(before, server, "before");

        // The device restarts: its close_notify never arrives, and it handshakes again from the same address and port.
        forwarder.ToServerFilter = _ => null;
        await before.DisposeAsync();
        forwarder.ToServerFilter = null;
        await using DtlsClientChannel after = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, DtlsLoopbackTests.ClientOptions(o => o.EnableConnectionId = false), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(after, server, "after");
        await DtlsLoopbackTests.WaitUntil(() => server.ConnectionCount == 1, 10_000);
        Assert.Equal(1, server.ConnectionsOfAddress(IPAddress.Loopback));
        Assert.Equal(0, meters.Sum("dtls.handshakes.refused", "address-connections"));
        Assert.Equal(0, meters.Sum("dtls.connections.evicted", "address-connections"));
    }

    [Fact]
    public async Task A_session_that_moves_to_another_address_by_connection_id_is_counted_there()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions(o => o.MaxConnectionsPerAddress = 1));
        var moved = IPAddress.Parse("127.0.0.3");
        await using var forwarder = new LossyForwarder((IPEndPoint)server.LocalEndPoint);
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(client, server, "before");
        Assert.Equal(1, server.ConnectionsOfAddress(IPAddress.Loopback));

        forwarder.Rebind(moved);
        await DtlsLoopbackTests.ExchangeAsync(client, server, "after");
        Assert.Equal(0, server.ConnectionsOfAddress(IPAddress.Loopback));
        Assert.Equal(1, server.ConnectionsOfAddress(moved));

        // The address it left has its room back; the one it moved to is full.
        await using DtlsClientChannel again = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(again, server, "again");
        await client.DisposeAsync();
        await DtlsLoopbackTests.WaitUntil(() => server.ConnectionsOfAddress(moved) == 0, 10_000);
        Assert.Equal(1, server.ConnectionsOfAddress(IPAddress.Loopback));
    }

    [Fact]
    public async Task Past_MaxHandshakes_a_new_address_is_refused_and_established_sessions_keep_talking()
    {
        using var meters = new MeterRecorder("CoapEnroll.Dtls");
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0),
            DtlsLoopbackTests.ServerOptions(o => o.MaxHandshakes = 2));
        var endpoint = (IPEndPoint)server.LocalEndPoint;
        await using DtlsClientChannel established = await DtlsClientChannel.ConnectAsync(endpoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(established, server, "before");
        Assert.Equal(0, server.HandshakeCount);

        using var first = new ManualClient(endpoint, IPAddress.Parse("127.0.0.2"));
        using var second = new ManualClient(endpoint, IPAddress.Parse("127.0.0.3"));
        await first.HandshakeToServerHelloDoneAsync(Ecdhe);
        await second.HandshakeToServerHelloDoneAsync(Ecdhe);
        Assert.Equal(2, server.HandshakeCount);

        using var refused = new ManualClient(endpoint, IPAddress.Parse("127.0.0.4"));
        byte[] cookie = await refused.ExchangeCookieAsync(Ecdhe);
        await refused.SendAsync(refused.Plain(refused.Hello(cookie, Ecdhe)));
        await DtlsLoopbackTests.WaitUntil(() => meters.Sum("dtls.handshakes.refused", "global") >= 1, 10_000);
        Assert.Empty(await refused.ReceiveAllAsync(600));
        Assert.Equal(0, meters.Sum("dtls.handshakes.refused", "address"));
        Assert.Equal(3, server.ConnectionCount);

        // The session established before keeps being served while the handshakes are full.
        await DtlsLoopbackTests.ExchangeAsync(established, server, "during");

        // Once a handshake ends, the refused client's retransmitted ClientHello (same cookie) is admitted.
        await first.SendAsync(first.PlainRecord(ContentType.Alert, [(byte)AlertLevel.Fatal, (byte)AlertDescription.HandshakeFailure]));
        await DtlsLoopbackTests.WaitUntil(() => server.HandshakeCount == 1, 10_000);
        await refused.SendAsync(refused.Plain(refused.Hello(cookie, Ecdhe)));
        List<byte[]> flight = await refused.ReceiveUntilAsync(replies => replies.Count > 0);
        Assert.NotEmpty(flight);
        Assert.Equal(2, server.HandshakeCount);
    }

    [Fact]
    public void Addresses_are_counted_whole_for_IPv4_and_by_the_64_bit_prefix_for_IPv6()
    {
        static UInt128 Key(string address) => HandshakeAdmission.AddressKey(IPAddress.Parse(address));

        Assert.Equal(Key("192.0.2.1"), Key("::ffff:192.0.2.1"));
        Assert.NotEqual(Key("192.0.2.1"), Key("192.0.2.2"));
        Assert.Equal(Key("2001:db8:1:2::1"), Key("2001:db8:1:2:ffff::9"));
        Assert.NotEqual(Key("2001:db8:1:2::1"), Key("2001:db8:1:3::1"));
        Assert.NotEqual(Key("::ffff:0:0"), Key("::"));
    }
}
