using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Transport;

namespace CoapEnroll.Dtls.Tests;

/// <summary>Our client against our server on loopback: suites, credentials, CID, PMTU, loss, migration.</summary>
public class DtlsLoopbackTests
{
    internal static readonly byte[] s_pskIdentity = Encoding.UTF8.GetBytes("device-psk-1");
    internal static readonly byte[] s_psk = Convert.FromHexString("00112233445566778899aabbccddeeff");

    private static TestPki Pki => TestPki.Shared;

    internal static DtlsServerOptions ServerOptions(Action<DtlsServerOptions>? configure = null)
    {
        var options = new DtlsServerOptions
        {
            Certificate = Pki.Server,
            PskKeyLookup = (identity, _) => ValueTask.FromResult(identity.Span.SequenceEqual(s_pskIdentity) ? (byte[]?)s_psk : null),
            InitialRetransmissionTimeout = TimeSpan.FromMilliseconds(100),
            MaxRetransmissions = 8,
        };
        options.ClientCertificateTrustAnchors.Add(Pki.Root);
        configure?.Invoke(options);
        return options;
    }

    internal static DtlsClientOptions ClientOptions(Action<DtlsClientOptions>? configure = null)
    {
        var options = new DtlsClientOptions
        {
            ServerName = "localhost",
            InitialRetransmissionTimeout = TimeSpan.FromMilliseconds(100),
            MaxRetransmissions = 8,
        };
        options.ServerCertificateTrustAnchors.Add(Pki.Root);
        configure?.Invoke(options);
        return options;
    }

    internal static async Task<(byte[] Data, EndPoint From)> ReceiveAsync(IDatagramChannel channel, int timeoutMs = 10_000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        byte[] buffer = new byte[4096];
        DatagramReceiveResult r = await channel.ReceiveAsync(buffer, cts.Token);
        return (buffer.AsSpan(0, r.ReceivedBytes).ToArray(), r.RemoteEndPoint);
    }

    internal static async Task<DtlsSessionEndPoint> ExchangeAsync(DtlsClientChannel client, DtlsServerChannel server, string tag = "x")
    {
        await client.SendAsync(Encoding.UTF8.GetBytes("ping " + tag), client.RemoteEndPoint, default);
        (byte[] data, EndPoint from) = await ReceiveAsync(server);
        Assert.Equal("ping " + tag, Encoding.UTF8.GetString(data));
        var session = Assert.IsType<DtlsSessionEndPoint>(from);
        await server.SendAsync(Encoding.UTF8.GetBytes("pong " + tag), session, default);
        (byte[] reply, EndPoint replyFrom) = await ReceiveAsync(client);
        Assert.Equal("pong " + tag, Encoding.UTF8.GetString(reply));
        Assert.Same(client.RemoteEndPoint, replyFrom);
        return session;
    }

    [Theory]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, false, true)]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, true, true)]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, true, false)]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true, true)]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, false, false)]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM, true, true)]
    [InlineData(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, false, true)]
    [InlineData(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, false, false)]
    public async Task Handshake_AllSuites_ExchangeData(CipherSuite suite, bool clientCertificate, bool cid)
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.EnableConnectionId = cid));
        DtlsClientOptions options = ClientOptions(o =>
        {
            o.CipherSuites = [suite];
            o.EnableConnectionId = cid;
            if (clientCertificate)
            {
                o.ClientCertificate = Pki.Client;
            }

            if (suite == CipherSuite.TLS_PSK_WITH_AES_128_CCM_8)
            {
                o.PskIdentity = s_pskIdentity;
                o.PskKey = s_psk;
            }
        });
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, Timeout());
        DtlsSessionEndPoint serverSide = await ExchangeAsync(client, server);
        DtlsSessionEndPoint clientSide = client.RemoteEndPoint;

        Assert.Equal(suite, clientSide.CipherSuite);
        Assert.Equal(suite, serverSide.CipherSuite);
        Assert.Equal(clientSide.TlsUnique, serverSide.TlsUnique);
        Assert.Equal(clientSide.ExportKeyingMaterial("EXPORTER-test", [1, 2], 32), serverSide.ExportKeyingMaterial("EXPORTER-test", [1, 2], 32));
        Assert.NotEqual(clientSide.ExportKeyingMaterial("EXPORTER-test", null, 32), serverSide.ExportKeyingMaterial("EXPORTER-test", [], 32));
        Assert.Equal(cid, clientSide.IsConnectionIdNegotiated);
        Assert.Equal(cid, serverSide.IsConnectionIdNegotiated);
        Assert.Equal(clientSide.LocalConnectionId.ToArray(), serverSide.PeerConnectionId.ToArray());
        Assert.Equal(clientSide.PeerConnectionId.ToArray(), serverSide.LocalConnectionId.ToArray());
        Assert.Equal(cid ? 6 : 0, serverSide.LocalConnectionId.Length);
        if (suite == CipherSuite.TLS_PSK_WITH_AES_128_CCM_8)
        {
            Assert.Equal(s_pskIdentity, serverSide.PskIdentity);
            Assert.Null(serverSide.PeerCertificates);
            Assert.Null(clientSide.PeerCertificates);
        }
        else
        {
            Assert.True(clientSide.IsPeerCertificateValidated);
            Assert.Equal("CN=localhost", clientSide.PeerCertificates![0].Subject);
            Assert.Equal(clientCertificate, serverSide.PeerCertificates is not null);
            Assert.Equal(clientCertificate, serverSide.IsPeerCertificateValidated);
        }

        Assert.True(client.MaxDatagramSize > 1000);
        Assert.True(server.MaxDatagramSize > 1000);
        Assert.True(serverSide.Connection.HoldsRecordKeys);
        Assert.True(clientSide.Connection.HoldsRecordKeys);

        // close_notify from the client closes the server's session. The connection is marked closed before the channel removes it
        // from its table (bench/REPORT.md, "Findings in src", 9), so wait for both.
        await client.DisposeAsync();
        await WaitUntil(() => serverSide.IsClosed && server.ConnectionCount == 0);
        Assert.Equal(0, server.ConnectionCount);

        // Both sides release their record keys (zeroed and freed) when the session closes, not when the GC gets to them.
        Assert.False(serverSide.Connection.HoldsRecordKeys);
        Assert.False(clientSide.Connection.HoldsRecordKeys);
    }

    [Fact]
    public async Task SmallPmtu_FragmentsEveryFlight_AndNoDatagramExceedsIt()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.PathMtu = 256));
        await using var forwarder = new LossyForwarder((IPEndPoint)server.LocalEndPoint);
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, ClientOptions(o =>
        {
            o.PathMtu = 256;
            o.ClientCertificate = Pki.Client;
            o.ServerName = "localhost";
        }), Timeout());
        await ExchangeAsync(client, server);
        Assert.InRange(forwarder.MaxDatagramSeen, 100, 256);
        Assert.True(client.MaxDatagramSize is > 0 and <= 256 - 13 - 8);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MaxDatagramSize_IsExactlyWhatFitsThePmtu(bool cid)
    {
        const int Pmtu = 256;
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o =>
        {
            o.PathMtu = Pmtu;
            o.EnableConnectionId = cid;
        }));
        await using var forwarder = new LossyForwarder((IPEndPoint)server.LocalEndPoint);
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, ClientOptions(o =>
        {
            o.PathMtu = Pmtu;
            o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
            o.PskIdentity = s_pskIdentity;
            o.PskKey = s_psk;
        }), Timeout());
        Assert.Equal(cid, client.RemoteEndPoint.IsConnectionIdNegotiated);

        // RFC 6347 §4.1 and RFC 9146 §4: header 13 (+ the server's CID of 6), explicit nonce 8, the content (+ its type byte
        // inside a CID record), CCM_8 tag 8.
        int expected = Pmtu - (13 + 8 + 8) - (cid ? 6 + 1 : 0);
        Assert.Equal(expected, client.MaxDatagramSize);

        // A datagram of that size goes in one record of exactly the PMTU.
        byte[] largest = new byte[client.MaxDatagramSize];
        Random.Shared.NextBytes(largest);
        int seenBefore = forwarder.MaxDatagramSeen;
        await client.SendAsync(largest, client.RemoteEndPoint, default);
        (byte[] data, _) = await ReceiveAsync(server);
        Assert.Equal(largest, data);
        Assert.Equal(Pmtu, forwarder.MaxDatagramSeen);
        Assert.True(seenBefore < Pmtu);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MaxDatagramSize_AtTheLargestPmtu_IsWhatASendTakes(bool cid)
    {
        // A PMTU above one record's worth: the record's plaintext limit (2^14, content and CID type byte together) decides.
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o =>
        {
            o.PathMtu = ushort.MaxValue;
            o.EnableConnectionId = cid;
        }));
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, ClientOptions(o =>
        {
            o.PathMtu = ushort.MaxValue;
            o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
            o.PskIdentity = s_pskIdentity;
            o.PskKey = s_psk;
        }), Timeout());
        Assert.Equal(16383, client.MaxDatagramSize);

        byte[] largest = new byte[client.MaxDatagramSize];
        Random.Shared.NextBytes(largest);
        await client.SendAsync(largest, client.RemoteEndPoint, default);
        byte[] buffer = new byte[largest.Length + 1];
        DatagramReceiveResult received = await server.ReceiveAsync(buffer, Timeout());
        Assert.Equal(largest, buffer.AsSpan(0, received.ReceivedBytes).ToArray());
        await Assert.ThrowsAsync<ArgumentException>(async () => await client.SendAsync(new byte[client.MaxDatagramSize + 1], client.RemoteEndPoint, default));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task LossDuplicationReordering_HandshakeCompletes(int seed)
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.PathMtu = 300));
        await using var forwarder = new LossyForwarder((IPEndPoint)server.LocalEndPoint, seed)
        {
            LossRate = 0.2,
            DuplicationRate = 0.2,
            ReorderRate = 0.2,
        };
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, ClientOptions(o =>
        {
            o.PathMtu = 300;
            o.ClientCertificate = Pki.Client;
            o.MaxRetransmissions = 12;
        }), Timeout(30));
        forwarder.LossRate = forwarder.DuplicationRate = forwarder.ReorderRate = 0;
        await ExchangeAsync(client, server);
    }

    [Fact]
    public async Task LostFinalFlight_ServerRetransmitsItWhenClientRepeats()
    {
        // The final flight is dropped by content, not by datagram index: a retransmitted ClientHello or flight 4
        // (timers of 100 ms on a loaded machine) would shift the index and let the final flight through.
        var transport = new DropFirstEpochOneDatagram(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        await using DtlsServerChannel server = new(transport, ServerOptions());
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, ClientOptions(), Timeout());
        Assert.Equal(6, client.RemoteEndPoint.LocalConnectionId.Length);
        Assert.True(transport.EpochOneDatagrams >= 2); // the dropped final flight, and the one resent when the client repeated its flight
        await ExchangeAsync(client, server);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task LargestRecord_AboveThePathMtu_IsReceivedWhole(bool cid)
    {
        // The client's receive buffer is sized to one maximum record, not to the PMTU: a peer may send records up
        // to 2^14 bytes of plaintext whatever our PMTU (loopback carries them in one datagram).
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.EnableConnectionId = cid));
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint,
            ClientOptions(o => { o.EnableConnectionId = cid; o.ConnectionIdLength = 32; }), Timeout());
        DtlsSessionEndPoint session = await ExchangeAsync(client, server);
        byte[] large = new byte[DtlsRecordCodec.MaxPlaintextLength - 1];
        Random.Shared.NextBytes(large);
        byte[] buffer = new byte[DtlsRecordCodec.MaxPlaintextLength + 100];

        await server.SendAsync(large, session, default);
        DatagramReceiveResult toClient = await client.ReceiveAsync(buffer, Timeout());
        Assert.Equal(large, buffer.AsSpan(0, toClient.ReceivedBytes).ToArray());

        await client.SendAsync(large, client.RemoteEndPoint, default);
        DatagramReceiveResult toServer = await server.ReceiveAsync(buffer, Timeout());
        Assert.Equal(large, buffer.AsSpan(0, toServer.ReceivedBytes).ToArray());
        Assert.Same(session, toServer.RemoteEndPoint);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ApplicationDataRecord_IsExactlyItsSealedLength(bool cid)
    {
        var transport = new RecordingTransport(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        await using DtlsServerChannel server = new(transport, ServerOptions());
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, ClientOptions(o =>
        {
            o.CipherSuites = [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8];
            o.EnableConnectionId = cid;
        }), Timeout());
        DtlsSessionEndPoint session = await ExchangeAsync(client, server);
        foreach (int size in new[] { 0, 1, 100, 1000 })
        {
            byte[] data = new byte[size];
            Random.Shared.NextBytes(data);
            transport.Sent.Clear();
            await server.SendAsync(data, session, default);
            (byte[] received, _) = await ReceiveAsync(client);
            Assert.Equal(data, received);

            // Header 13, CID 6 + inner content type 1, explicit nonce 8, CCM_8 tag 8: not a byte more.
            byte[] datagram = Assert.Single(transport.Sent);
            Assert.Equal(13 + (cid ? 6 + 1 : 0) + 8 + size + 8, datagram.Length);
        }
    }

    [Fact]
    public async Task ConnectionId_PeerAddressChange_UpdatesSessionAddress()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions());
        await using var forwarder = new LossyForwarder((IPEndPoint)server.LocalEndPoint);
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, ClientOptions(), Timeout());
        DtlsSessionEndPoint session = await ExchangeAsync(client, server, "before");
        IPEndPoint before = session.RemoteEndPoint;
        forwarder.Rebind();
        DtlsSessionEndPoint after = await ExchangeAsync(client, server, "after");
        Assert.Same(session, after);
        Assert.NotEqual(before, session.RemoteEndPoint);
    }

    [Fact]
    public async Task Psk_WrongKey_And_UnknownIdentity_Fail()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions());
        var wrongKey = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint,
            ClientOptions(o => { o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8]; o.PskIdentity = s_pskIdentity; o.PskKey = new byte[16]; o.MaxRetransmissions = 3; }),
            Timeout()));
        // Under a wrong key the client's Finished record does not authenticate: the server drops it silently
        // (RFC 6347 §4.1.2.7) and the client gives up after its retransmissions.
        Assert.Null(wrongKey.Alert);
        var unknown = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint,
            ClientOptions(o => { o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8]; o.PskIdentity = [1, 2, 3]; o.PskKey = s_psk; }),
            Timeout()));
        Assert.Equal(AlertDescription.UnknownPskIdentity, unknown.Alert);
        Assert.True(unknown.ReceivedFromPeer);
    }

    [Fact]
    public async Task ServerAuthentication_UntrustedOrWrongName_Fails()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions());
        var untrusted = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint,
            ClientOptions(o => { o.ServerCertificateTrustAnchors.Clear(); o.ServerCertificateTrustAnchors.Add(Pki.RogueRoot); }), Timeout()));
        Assert.Equal(AlertDescription.UnknownCa, untrusted.Alert);
        var wrongName = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint,
            ClientOptions(o => o.ServerName = "other.example"), Timeout()));
        Assert.Equal(AlertDescription.BadCertificate, wrongName.Alert);

        // Matching by IP address SAN.
        await using DtlsClientChannel byIp = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, ClientOptions(o => o.ServerName = null), Timeout());
        await ExchangeAsync(byIp, server);
    }

    [Fact]
    public async Task ClientAuthentication_UntrustedRequiredOrAllowed()
    {
        await using DtlsServerChannel strict = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.RequireClientCertificate = true));
        var rogue = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)strict.LocalEndPoint,
            ClientOptions(o => o.ClientCertificate = Pki.RogueClient), Timeout()));
        Assert.Equal(AlertDescription.BadCertificate, rogue.Alert);
        var none = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)strict.LocalEndPoint,
            ClientOptions(), Timeout()));
        Assert.Equal(AlertDescription.HandshakeFailure, none.Alert);

        await using DtlsServerChannel lenient = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.AllowUnvalidatedClientCertificates = true));
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)lenient.LocalEndPoint,
            ClientOptions(o => o.ClientCertificate = Pki.RogueClient), Timeout());
        DtlsSessionEndPoint session = await ExchangeAsync(client, lenient);
        Assert.False(session.IsPeerCertificateValidated);
        Assert.Equal("CN=rogue-device", session.PeerCertificates![0].Subject);
    }

    [Fact]
    public async Task ClientAuthentication_LeafOnly_ValidatesThroughConfiguredIntermediate()
    {
        // The client sends its leaf without the intermediate that issued it.
        DtlsClientOptions leafOnly = ClientOptions(o => o.ClientCertificate = Pki.IntermediateClient);

        await using DtlsServerChannel strictWithout = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions());
        var rejected = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)strictWithout.LocalEndPoint, leafOnly, Timeout()));
        Assert.Equal(AlertDescription.BadCertificate, rejected.Alert);

        await using DtlsServerChannel lenientWithout = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.AllowUnvalidatedClientCertificates = true));
        await using (DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)lenientWithout.LocalEndPoint, leafOnly, Timeout()))
        {
            DtlsSessionEndPoint session = await ExchangeAsync(client, lenientWithout);
            Assert.False(session.IsPeerCertificateValidated);
        }

        await using DtlsServerChannel strictWith = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0),
            ServerOptions(o => o.ClientCertificateIntermediates.Add(X509CertificateLoader.LoadCertificate(Pki.Intermediate.RawData))));
        await using (DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)strictWith.LocalEndPoint, leafOnly, Timeout()))
        {
            DtlsSessionEndPoint session = await ExchangeAsync(client, strictWith);
            Assert.True(session.IsPeerCertificateValidated);
            Assert.Equal("CN=device-2", Assert.Single(session.PeerCertificates!).Subject);
        }
    }

    [Fact]
    public async Task ClientCertificateIntermediates_AreNeverTrustAnchors()
    {
        // A self-signed root only among the intermediates: the client it issued stays unvalidated.
        await using DtlsServerChannel rogueAsIntermediate = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o =>
        {
            o.AllowUnvalidatedClientCertificates = true;
            o.ClientCertificateIntermediates.Add(Pki.RogueRoot);
        }));
        await using (DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)rogueAsIntermediate.LocalEndPoint,
            ClientOptions(o => o.ClientCertificate = Pki.RogueClient), Timeout()))
        {
            Assert.False((await ExchangeAsync(client, rogueAsIntermediate)).IsPeerCertificateValidated);
        }

        // The whole path (intermediate and root) as intermediates, another root as the only anchor: not validated.
        await using DtlsServerChannel pathWithoutAnchor = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o =>
        {
            o.AllowUnvalidatedClientCertificates = true;
            o.ClientCertificateTrustAnchors.Clear();
            o.ClientCertificateTrustAnchors.Add(Pki.RogueRoot);
            o.ClientCertificateIntermediates.Add(Pki.Intermediate);
            o.ClientCertificateIntermediates.Add(Pki.Root);
        }));
        await using (DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)pathWithoutAnchor.LocalEndPoint,
            ClientOptions(o => o.ClientCertificate = Pki.IntermediateClient), Timeout()))
        {
            Assert.False((await ExchangeAsync(client, pathWithoutAnchor)).IsPeerCertificateValidated);
        }
    }

    [Fact]
    public async Task ServerAuthentication_LeafOnly_ValidatesThroughConfiguredIntermediate()
    {
        // The server sends its leaf without the intermediate that issued it (CertificateChain empty).
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.Certificate = Pki.IntermediateServer));

        var without = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, ClientOptions(), Timeout()));
        Assert.Equal(AlertDescription.UnknownCa, without.Alert);

        var notAnAnchor = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, ClientOptions(o =>
        {
            o.ServerCertificateTrustAnchors.Clear();
            o.ServerCertificateTrustAnchors.Add(Pki.RogueRoot);
            o.ServerCertificateIntermediates.Add(Pki.Intermediate);
            o.ServerCertificateIntermediates.Add(Pki.Root);
        }), Timeout()));
        Assert.Equal(AlertDescription.UnknownCa, notAnAnchor.Alert);

        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint,
            ClientOptions(o => o.ServerCertificateIntermediates.Add(X509CertificateLoader.LoadCertificate(Pki.Intermediate.RawData))), Timeout());
        await ExchangeAsync(client, server);
        Assert.True(client.RemoteEndPoint.IsPeerCertificateValidated);
        Assert.Equal("CN=localhost", Assert.Single(client.RemoteEndPoint.PeerCertificates!).Subject);
    }

    [Fact]
    public async Task ManyClients_ConcurrentHandshakes_AndTableBound()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.MaxConnections = 8));
        var clients = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, ClientOptions(), Timeout())));
        Assert.Equal(8, server.ConnectionCount);
        await Assert.ThrowsAnyAsync<Exception>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint,
            ClientOptions(o => o.MaxRetransmissions = 2), Timeout()));
        for (int i = 0; i < clients.Length; i++)
        {
            await ExchangeAsync(clients[i], server, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await clients[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task IdleConnections_AreEvicted()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0),
            ServerOptions(o => o.IdleTimeout = TimeSpan.FromMilliseconds(300)));
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, ClientOptions(), Timeout());
        DtlsSessionEndPoint session = await ExchangeAsync(client, server);
        // Marked closed before the channel removes it from its table: wait for both (as in Handshake_AllSuites_ExchangeData).
        await WaitUntil(() => session.IsClosed && server.ConnectionCount == 0, 5000);
        Assert.Equal(0, server.ConnectionCount);
        Assert.False(session.Connection.HoldsRecordKeys); // an evicted session's keys are released at eviction
    }

    /// <summary>Drops the server's first datagram with an epoch-1 record: its ChangeCipherSpec + Finished flight.</summary>
    private sealed class DropFirstEpochOneDatagram(IDatagramChannel inner) : IDatagramChannel
    {
        private const int ClientCidLength = 6;
        private int _epochOneDatagrams;

        public int EpochOneDatagrams => Volatile.Read(ref _epochOneDatagrams);

        public EndPoint LocalEndPoint => inner.LocalEndPoint;

        public int MaxDatagramSize => inner.MaxDatagramSize;

        public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            inner.ReceiveAsync(buffer, cancellationToken);

        public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken) =>
            HasEpochOneRecord(datagram.Span) && Interlocked.Increment(ref _epochOneDatagrams) == 1
                ? ValueTask.CompletedTask
                : inner.SendAsync(datagram, remoteEndPoint, cancellationToken);

        private static bool HasEpochOneRecord(ReadOnlySpan<byte> datagram)
        {
            // The records to the client carry its CID (6 bytes by default) once one was negotiated.
            var reader = new DtlsRecordReader(datagram, ClientCidLength);
            while (reader.TryRead(out DtlsRecord record))
            {
                if (record.Epoch == 1)
                {
                    return true;
                }
            }

            return false;
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>Keeps a copy of every datagram the server sends.</summary>
    private sealed class RecordingTransport(IDatagramChannel inner) : IDatagramChannel
    {
        public System.Collections.Concurrent.ConcurrentQueue<byte[]> Sent { get; } = new();

        public EndPoint LocalEndPoint => inner.LocalEndPoint;

        public int MaxDatagramSize => inner.MaxDatagramSize;

        public ValueTask<DatagramReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            inner.ReceiveAsync(buffer, cancellationToken);

        public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, EndPoint remoteEndPoint, CancellationToken cancellationToken)
        {
            Sent.Enqueue(datagram.ToArray());
            return inner.SendAsync(datagram, remoteEndPoint, cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    internal static CancellationToken Timeout(int seconds = 15) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    internal static async Task WaitUntil(Func<bool> condition, int timeoutMs = 5000)
    {
        for (int waited = 0; !condition(); waited += 20)
        {
            Assert.True(waited < timeoutMs, "condition not reached in time");
            await Task.Delay(20);
        }
    }
}
