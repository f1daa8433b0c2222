using System.Net;
using System.Net.Sockets;
using System.Text;
using Bc = Org.BouncyCastle.Tls;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// Connection IDs (RFC 9146) against an independent implementation, BouncyCastle's DTLS 1.2: each side negotiates a CID with the
/// other, the client moves to a new source port mid-session, and the session carries on at the new address. PSK with
/// TLS_PSK_WITH_AES_128_CCM_8, the suite both sides share without certificates.
/// </summary>
public class BouncyCastleConnectionIdInteropTests
{
    /// <summary>RFC 9146 §4: the outer content type of a record that carries a CID.</summary>
    private const byte Tls12Cid = 25;

    /// <summary>Where a CID starts in a DTLS 1.2 record header: type 1, version 2, epoch 2, sequence number 6.</summary>
    private const int CidOffset = 11;

    private static readonly byte[] s_bcConnectionId = [0xB1, 0xC2, 0xD3, 0xE4];

    [Fact]
    public async Task BcClient_NegotiatesCid_WithOurServer_AndKeepsTalkingFromANewPort()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        var transport = BcUdpTransport.ConnectTo((IPEndPoint)server.LocalEndPoint);
        var client = new BcPskClient(DtlsLoopbackTests.s_pskIdentity, DtlsLoopbackTests.s_psk, s_bcConnectionId);
        Bc.DtlsTransport dtls = await Task.Run(() => new Bc.DtlsClientProtocol().Connect(client, transport)).WaitAsync(TimeSpan.FromSeconds(30));
        try
        {
            await BcSendAsync(dtls, "hello");
            (byte[] data, EndPoint from) = await DtlsLoopbackTests.ReceiveAsync(server);
            Assert.Equal("hello", Encoding.UTF8.GetString(data));
            var session = Assert.IsType<DtlsSessionEndPoint>(from);

            // Both sides agree on both CIDs: ours is what BC writes into its records, BC's what we write into ours.
            Assert.True(session.IsConnectionIdNegotiated);
            Assert.Equal(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, session.CipherSuite);
            Assert.Equal(6, session.LocalConnectionId.Length);
            Assert.Equal(s_bcConnectionId, session.PeerConnectionId.ToArray());
            Assert.Equal(session.LocalConnectionId.ToArray(), client.Context.SecurityParameters.ConnectionIDLocal);
            Assert.Equal(s_bcConnectionId, client.Context.SecurityParameters.ConnectionIDPeer);
            AssertCarriesCid(transport.Sent.Last(), session.LocalConnectionId.Span);

            await server.SendAsync(Encoding.UTF8.GetBytes("hello yourself"), session, default);
            Assert.Equal("hello yourself", await BcReceiveAsync(dtls));
            AssertCarriesCid(transport.Received.Last(), s_bcConnectionId);

            // The client moves to a new source port with the same DTLS state: only the CID still names its session.
            IPEndPoint before = session.RemoteEndPoint;
            transport.MoveToNewPort();
            await BcSendAsync(dtls, "moved");
            (data, from) = await DtlsLoopbackTests.ReceiveAsync(server);
            Assert.Equal("moved", Encoding.UTF8.GetString(data));
            Assert.Same(session, from);
            Assert.NotEqual(before, session.RemoteEndPoint);
            Assert.Equal(transport.LocalEndPoint, session.RemoteEndPoint);
            await server.SendAsync(Encoding.UTF8.GetBytes("found you"), session, default);
            Assert.Equal("found you", await BcReceiveAsync(dtls));

            // From a third address: a record with a CID nobody holds, then BC's last record replayed (right CID, authentic, old
            // sequence number). Both are dropped, and neither moves the session (RFC 9146 §6: only a newer authentic record does).
            byte[] last = transport.Sent.Last();
            byte[] unknownCid = (byte[])last.Clone();
            unknownCid[CidOffset] ^= 0xFF;
            using (var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                attacker.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                await attacker.SendToAsync(unknownCid, server.LocalEndPoint);
                await attacker.SendToAsync(last, server.LocalEndPoint);
            }

            await BcSendAsync(dtls, "still me");
            (data, from) = await DtlsLoopbackTests.ReceiveAsync(server);
            Assert.Equal("still me", Encoding.UTF8.GetString(data)); // the two attack datagrams, sent first, delivered nothing
            Assert.Same(session, from);
            Assert.Equal(transport.LocalEndPoint, session.RemoteEndPoint);
            Assert.Equal(1, server.ConnectionCount);
            await server.SendAsync(Encoding.UTF8.GetBytes("bye"), session, default);
            Assert.Equal("bye", await BcReceiveAsync(dtls));
            Assert.Null(client.AlertReceived);
        }
        finally
        {
            dtls.Close();
        }
    }

    [Fact]
    public async Task OurClient_NegotiatesCid_WithBcServer_AndKeepsTalkingFromANewPort()
    {
        var transport = BcUdpTransport.Listen();
        var bcServer = new BcPskServer(DtlsLoopbackTests.s_pskIdentity, DtlsLoopbackTests.s_psk, s_bcConnectionId);
        Task<Bc.DtlsTransport> accept = Task.Run(() => new Bc.DtlsServerProtocol().Accept(bcServer, transport));
        await using var forwarder = new LossyForwarder(transport.LocalEndPoint);
        Bc.DtlsTransport? dtls = null;
        try
        {
            await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, DtlsLoopbackTests.ClientOptions(o =>
            {
                o.PskIdentity = DtlsLoopbackTests.s_pskIdentity;
                o.PskKey = DtlsLoopbackTests.s_psk;
                o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
            }), DtlsLoopbackTests.Timeout(30));
            dtls = await accept.WaitAsync(TimeSpan.FromSeconds(30));
            DtlsSessionEndPoint session = client.RemoteEndPoint;

            Assert.True(session.IsConnectionIdNegotiated);
            Assert.Equal(s_bcConnectionId, session.PeerConnectionId.ToArray());
            Assert.Equal(6, session.LocalConnectionId.Length);
            Assert.Equal(session.LocalConnectionId.ToArray(), bcServer.Context.SecurityParameters.ConnectionIDLocal);
            Assert.Equal(s_bcConnectionId, bcServer.Context.SecurityParameters.ConnectionIDPeer);

            await client.SendAsync(Encoding.UTF8.GetBytes("ping"), session, default);
            Assert.Equal("ping", await BcReceiveAsync(dtls, transport));
            AssertCarriesCid(transport.Received.Last(), s_bcConnectionId);
            await BcSendAsync(dtls, "pong");
            (byte[] reply, _) = await DtlsLoopbackTests.ReceiveAsync(client);
            Assert.Equal("pong", Encoding.UTF8.GetString(reply));
            AssertCarriesCid(transport.Sent.Last(), session.LocalConnectionId.Span);

            // Our client's datagrams now reach BC from another port; BC reports the record as CID-authenticated and newest,
            // and the transport follows it there.
            IPEndPoint before = transport.Peer!;
            forwarder.Rebind();
            await client.SendAsync(Encoding.UTF8.GetBytes("moved"), session, default);
            Assert.Equal("moved", await BcReceiveAsync(dtls, transport));
            Assert.NotEqual(before, transport.Peer);
            await BcSendAsync(dtls, "found you");
            (reply, _) = await DtlsLoopbackTests.ReceiveAsync(client);
            Assert.Equal("found you", Encoding.UTF8.GetString(reply));
        }
        finally
        {
            dtls?.Close();
            transport.Close();
        }
    }

    private static void AssertCarriesCid(byte[] datagram, ReadOnlySpan<byte> cid)
    {
        Assert.Equal(Tls12Cid, datagram[0]);
        Assert.True(datagram.AsSpan(CidOffset, cid.Length).SequenceEqual(cid), "the record carries another CID");
    }

    private static Task BcSendAsync(Bc.DtlsTransport dtls, string text)
    {
        byte[] data = Encoding.UTF8.GetBytes(text);
        return Task.Run(() => dtls.Send(data, 0, data.Length));
    }

    /// <summary>
    /// BC's blocking receive on the thread pool. For a server transport, an application record that BC reports as carrying our CID
    /// and newer than any before moves the transport to the record's source address (RFC 9146 §6).
    /// </summary>
    private static async Task<string> BcReceiveAsync(Bc.DtlsTransport dtls, BcUdpTransport? followPeer = null)
    {
        byte[] buffer = new byte[dtls.GetReceiveLimit()];
        int received = await Task.Run(() => dtls.Receive(buffer, 0, buffer.Length, 20_000, flags =>
        {
            if (followPeer is not null && (flags & Bc.DtlsRecordFlags.UsesConnectionID) != 0 && (flags & Bc.DtlsRecordFlags.IsNewest) != 0)
            {
                followPeer.FollowPeer();
            }
        })).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(received >= 0, "BouncyCastle received nothing");
        return Encoding.UTF8.GetString(buffer, 0, received);
    }
}
