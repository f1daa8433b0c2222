using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// The attack list of /work/shared/notes/dtls.md, each driven by a hand-crafted peer: the forged flight must
/// be rejected (fatal alert or silent drop, never a completed handshake) and the server must still serve a
/// well-behaved client afterwards.
/// </summary>
public class DtlsAttackTests
{
    private const CipherSuite Ecdhe = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;

    private static TestPki Pki => TestPki.Shared;

    private static DtlsServerChannel NewServer(Action<DtlsServerOptions>? configure = null) =>
        DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions(configure));

    private static async Task AssertStillServesAsync(DtlsServerChannel server)
    {
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint,
            DtlsLoopbackTests.ClientOptions(o => o.ClientCertificate = Pki.Client), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(client, server, "after-attack");
    }

    private static async Task<(DtlsServerChannel Server, ManualClient Client)> StartAsync(Action<DtlsServerOptions>? configure = null)
    {
        DtlsServerChannel server = NewServer(configure);
        var client = new ManualClient((IPEndPoint)server.LocalEndPoint);
        await client.HandshakeToServerHelloDoneAsync(Ecdhe);
        return (server, client);
    }

    private static async Task ExpectFatalAsync(ManualClient client, AlertDescription expected)
    {
        // Wait for the alert itself rather than for a quiet gap: on a loaded machine the server's key exchange and signature check
        // can take longer than the quiet window, and the alert would arrive after the test stopped listening.
        var replies = new List<byte[]>();
        DtlsAlert? alert = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(10); alert is null && DateTime.UtcNow < deadline;)
        {
            replies.AddRange(await client.ReceiveAllAsync());
            alert = client.FindAlert(replies);
        }

        Assert.NotNull(alert);
        Assert.Equal(AlertLevel.Fatal, alert.Value.Level);
        Assert.Equal(expected, alert.Value.Description);
        Assert.False(ManualClient.HasEpochOneRecord(replies));
    }

    private static async Task ExpectNoCompletionAsync(ManualClient client)
    {
        List<byte[]> replies = await client.ReceiveAllAsync(600);
        Assert.False(ManualClient.HasEpochOneRecord(replies), "the server completed a forged handshake");
    }

    [Fact]
    public async Task Attack01_FinishedWithoutChangeCipherSpec_IsUnexpectedMessage()
    {
        (DtlsServerChannel server, ManualClient client) = await StartAsync();
        await using (server)
        using (client)
        {
            CertificateMessage empty = new();
            byte[] cert = client.Plain(empty);
            byte[] cke = client.Plain(client.EcdheKeyExchange(Ecdhe));
            client.DeriveKeys();
            await client.SendAsync(cert, cke, client.Plain(client.ClientFinished()));
            await ExpectFatalAsync(client, AlertDescription.UnexpectedMessage);
            await AssertStillServesAsync(server);
        }
    }

    [Fact]
    public async Task Attack02_RequiredCertificateOmitted_IsRejected()
    {
        (DtlsServerChannel server, ManualClient client) = await StartAsync(o => o.RequireClientCertificate = true);
        await using (server)
        using (client)
        {
            byte[] cke = client.Plain(client.EcdheKeyExchange(Ecdhe));
            await client.SendAsync(cke);
            await ExpectFatalAsync(client, AlertDescription.UnexpectedMessage);
        }

        (server, client) = await StartAsync(o => o.RequireClientCertificate = true);
        await using (server)
        using (client)
        {
            await client.SendAsync(client.Plain(new CertificateMessage()));
            await ExpectFatalAsync(client, AlertDescription.HandshakeFailure);
            await AssertStillServesAsync(server);
        }
    }

    [Fact]
    public async Task Attack03_CertificateWithoutCertificateVerify_NeverCompletes()
    {
        (DtlsServerChannel server, ManualClient client) = await StartAsync();
        await using (server)
        using (client)
        {
            byte[] cert = client.Plain(new CertificateMessage { Certificates = [Pki.Client.RawData] });
            byte[] cke = client.Plain(client.EcdheKeyExchange(Ecdhe));
            client.DeriveKeys();
            byte[] ccs = client.Ccs();
            byte[] finished = client.EncryptedHandshake(client.ClientFinished());
            await client.SendAsync(cert, cke, ccs, finished);
            // The ChangeCipherSpec is dropped (CertificateVerify is still expected), so the Finished cannot be read.
            await ExpectNoCompletionAsync(client);
        }

        // A Finished where the CertificateVerify belongs is a misordered message.
        (server, client) = await StartAsync();
        await using (server)
        using (client)
        {
            byte[] cert = client.Plain(new CertificateMessage { Certificates = [Pki.Client.RawData] });
            byte[] cke = client.Plain(client.EcdheKeyExchange(Ecdhe));
            client.DeriveKeys();
            await client.SendAsync(cert, cke, client.Plain(client.ClientFinished()));
            await ExpectFatalAsync(client, AlertDescription.UnexpectedMessage);
            await AssertStillServesAsync(server);
        }
    }

    [Fact]
    public async Task Attack04_ClientKeyExchangeBeforeCertificate_IsUnexpectedMessage()
    {
        (DtlsServerChannel server, ManualClient client) = await StartAsync();
        await using (server)
        using (client)
        {
            byte[] cke = client.Plain(client.EcdheKeyExchange(Ecdhe));
            byte[] cert = client.Plain(new CertificateMessage());
            await client.SendAsync(cke, cert);
            await ExpectFatalAsync(client, AlertDescription.UnexpectedMessage);

            // Attack #7: anything after the fatal alert is ignored (no state remains for this address).
            await client.SendAsync(client.Plain(new CertificateMessage()), client.Ccs());
            Assert.Empty(await client.ReceiveAllAsync());
            Assert.Equal(0, server.ConnectionCount);
            await AssertStillServesAsync(server);
        }
    }

    [Fact]
    public async Task Attack05_ChangeCipherSpecBeforeCertificateVerify_IsDropped()
    {
        (DtlsServerChannel server, ManualClient client) = await StartAsync();
        await using (server)
        using (client)
        {
            byte[] cert = client.Plain(new CertificateMessage { Certificates = [Pki.Client.RawData] });
            byte[] cke = client.Plain(client.EcdheKeyExchange(Ecdhe));
            client.DeriveKeys();
            byte[] ccs = client.Ccs();
            byte[] cv;
            using (ECDsa key = Pki.Client.GetECDsaPrivateKey()!)
            {
                cv = client.Plain(new CertificateVerify { Signature = DtlsSignatures.SignCertificateVerify(key, SignatureScheme.EcdsaSecp256r1Sha256, client.Transcript.Messages) });
            }

            // CCS arrives before CertificateVerify: dropped; the Finished (epoch 1) is then unreadable.
            byte[] finished = client.EncryptedHandshake(client.ClientFinished());
            await client.SendAsync(cert, cke, ccs, cv, finished);
            await ExpectNoCompletionAsync(client);
            await AssertStillServesAsync(server);
        }
    }

    [Fact]
    public async Task Attack06_SecondCertificate_IsUnexpectedMessage()
    {
        (DtlsServerChannel server, ManualClient client) = await StartAsync();
        await using (server)
        using (client)
        {
            await client.SendAsync(client.Plain(new CertificateMessage()), client.Plain(new CertificateMessage { Certificates = [Pki.Client.RawData] }));
            await ExpectFatalAsync(client, AlertDescription.UnexpectedMessage);
            await AssertStillServesAsync(server);
        }
    }

    [Fact]
    public async Task Attack06_ForgedCertificateVerify_IsDecryptError()
    {
        (DtlsServerChannel server, ManualClient client) = await StartAsync();
        await using (server)
        using (client)
        {
            byte[] cert = client.Plain(new CertificateMessage { Certificates = [Pki.Client.RawData] });
            byte[] cke = client.Plain(client.EcdheKeyExchange(Ecdhe));
            // Signed by a key that is not the certificate's.
            using ECDsa other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            byte[] cv = client.Plain(new CertificateVerify { Signature = DtlsSignatures.SignCertificateVerify(other, SignatureScheme.EcdsaSecp256r1Sha256, client.Transcript.Messages) });
            await client.SendAsync(cert, cke, cv);
            await ExpectFatalAsync(client, AlertDescription.DecryptError);
            await AssertStillServesAsync(server);
        }
    }

    [Fact]
    public async Task Attack08_HelloVerifyRequest_IsStatelessSmallAndBindsTheClientHello()
    {
        await using DtlsServerChannel server = NewServer();
        using var client = new ManualClient((IPEndPoint)server.LocalEndPoint);
        byte[] hello1 = client.Plain(client.Hello([], Ecdhe), transcript: false);
        for (int i = 0; i < 20; i++)
        {
            await client.SendAsync(hello1);
        }

        List<byte[]> replies = await client.ReceiveAllAsync(1500);
        Assert.Equal(20, replies.Count); // one HelloVerifyRequest per ClientHello, never retransmitted by the server
        Assert.All(replies, r => Assert.True(r.Length <= hello1.Length));
        Assert.Equal(0, server.ConnectionCount);

        DtlsRecordCodec.TryReadRecord(replies[0], 0, out DtlsRecord record, out _);
        HandshakeHeader.TryRead(record.Payload, out _, out ReadOnlySpan<byte> fragment, out _);
        HelloVerifyRequest.TryParse(fragment, out HelloVerifyRequest? hvr);
        byte[] cookie = hvr!.Cookie;

        // The cookie with different parameters (other suites) is not accepted: another HelloVerifyRequest, no state.
        await client.SendAsync(client.Plain(client.Hello(cookie, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), transcript: false));
        List<byte[]> again = await client.ReceiveAllAsync();
        Assert.Single(again);
        Assert.True(DtlsRecordCodec.TryReadRecord(again[0], 0, out record, out _) == RecordParseStatus.Success);
        HandshakeHeader.TryRead(record.Payload, out HandshakeHeader h, out _, out _);
        Assert.Equal(HandshakeType.HelloVerifyRequest, h.Type);

        // The cookie from another address is not accepted either.
        using var other = new ManualClient((IPEndPoint)server.LocalEndPoint);
        await other.SendAsync(other.Plain(client.Hello(cookie, Ecdhe), transcript: false));
        List<byte[]> fromOther = await other.ReceiveAllAsync();
        HandshakeHeader.TryRead(fromOther.Count == 1 && DtlsRecordCodec.TryReadRecord(fromOther[0], 0, out record, out _) == RecordParseStatus.Success
            ? record.Payload : default, out h, out _, out _);
        Assert.Equal(HandshakeType.HelloVerifyRequest, h.Type);
        Assert.Equal(0, server.ConnectionCount);
        await AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Attack09_12_PlaintextJunkAndChangeCipherSpecBeforeClientHello_AreSilentlyDropped()
    {
        await using DtlsServerChannel server = NewServer();
        using var client = new ManualClient((IPEndPoint)server.LocalEndPoint);
        await client.SendAsync(client.Ccs());
        await client.SendAsync(client.PlainRecord(ContentType.ApplicationData, [1, 2, 3]));
        await client.SendAsync(client.PlainRecord(ContentType.Alert, [2, 40]));
        await client.SendAsync(client.Plain(new Finished()));
        await client.SendAsync(RandomNumberGenerator.GetBytes(100));
        Assert.Empty(await client.ReceiveAllAsync());
        Assert.Equal(0, server.ConnectionCount);
        await AssertStillServesAsync(server);
    }

    [Fact]
    public async Task Attack10_11_ForgedServerKeyExchangeSignature_ClientAbortsWithDecryptError()
    {
        foreach (Func<byte[], byte[]> forge in new Func<byte[], byte[]>[]
        {
            sig => { byte[] s = (byte[])sig.Clone(); s[^1] ^= 1; return s; },              // bad signature
            _ => [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00],                            // r = 0, s = 0
            _ => [],                                                                          // missing
            _ => Convert.FromHexString("3046022100FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551022100FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"), // r = s = n
        })
        {
            using var fake = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            var serverEndPoint = (IPEndPoint)fake.Client.LocalEndPoint!;
            Task<DtlsClientChannel> connect = DtlsClientChannel.ConnectAsync(serverEndPoint, DtlsLoopbackTests.ClientOptions(o => o.MaxRetransmissions = 2),
                DtlsLoopbackTests.Timeout());
            UdpReceiveResult ch = await fake.ReceiveAsync(DtlsLoopbackTests.Timeout());
            DtlsRecordCodec.TryReadRecord(ch.Buffer, 0, out DtlsRecord record, out _);
            HandshakeHeader.TryRead(record.Payload, out _, out ReadOnlySpan<byte> body, out _);
            Assert.True(ClientHello.TryParse(body, out ClientHello? hello));

            byte[] serverRandom = RandomNumberGenerator.GetBytes(32);
            using var kx = EcdheKeyExchange.Create();
            byte[] parameters = EcdheServerKeyExchange.EncodeParameters(NamedGroup.Secp256r1, kx.PublicPoint);
            using ECDsa key = Pki.Server.GetECDsaPrivateKey()!;
            byte[] signature = DtlsSignatures.SignServerKeyExchange(key, SignatureScheme.EcdsaSecp256r1Sha256, hello.Random, serverRandom, parameters);
            HandshakeMessage[] flight =
            [
                new ServerHello { Random = serverRandom, CipherSuite = Ecdhe, Extensions = [TlsExtensions.ExtendedMasterSecret()] },
                new CertificateMessage { Certificates = [Pki.Server.RawData] },
                new EcdheServerKeyExchange { PublicPoint = kx.PublicPoint, Signature = forge(signature) },
                new ServerHelloDone(),
            ];
            var datagram = new List<byte>();
            ushort seq = 0;
            foreach (HandshakeMessage m in flight)
            {
                byte[] fragment = HandshakeFragmenter.Fragment(m.Type, seq, m.Encode(), 16000)[0];
                byte[] rec = new byte[13 + fragment.Length];
                DtlsRecordCodec.WritePlaintextRecord(rec, ContentType.Handshake, seq++, fragment);
                datagram.AddRange(rec);
            }

            await fake.SendAsync(datagram.ToArray(), ch.RemoteEndPoint);
            var ex = await Assert.ThrowsAsync<DtlsHandshakeException>(() => connect);
            Assert.Equal(AlertDescription.DecryptError, ex.Alert);
            Assert.False(ex.ReceivedFromPeer);
        }
    }

    [Fact]
    public async Task Attack13_NewClientHelloOnEstablishedAddress_NeedsTheCookieAndKeepsTheSession()
    {
        await using DtlsServerChannel server = NewServer();
        await using var forwarder = new LossyForwarder((IPEndPoint)server.LocalEndPoint);
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint, DtlsLoopbackTests.ClientOptions(o => o.EnableConnectionId = false),
            DtlsLoopbackTests.Timeout());
        DtlsSessionEndPoint session = await DtlsLoopbackTests.ExchangeAsync(client, server, "1");

        // Inject a cookieless ClientHello "from the client's address" by sending it through the forwarder's upstream socket.
        var injector = new ManualClient(forwarder.EndPoint);
        byte[] hello = injector.Plain(injector.Hello([], Ecdhe), transcript: false);
        injector.Dispose();
        using (var raw = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            await raw.SendAsync(hello, forwarder.EndPoint); // the forwarder relays from the client's upstream address
        }

        await Task.Delay(300);
        Assert.Equal(1, server.ConnectionCount); // only a HelloVerifyRequest went out; nothing replaced
        Assert.False(session.IsClosed);
        Assert.Same(session, await DtlsLoopbackTests.ExchangeAsync(client, server, "2"));
    }

    [Fact]
    public async Task Attack14_CidRecordAtEpochZero_AndForgedCidRecordFromNewAddress_AreDropped()
    {
        await using DtlsServerChannel server = NewServer();
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(),
            DtlsLoopbackTests.Timeout());
        DtlsSessionEndPoint session = await DtlsLoopbackTests.ExchangeAsync(client, server, "1");
        IPEndPoint address = session.RemoteEndPoint;
        byte[] cid = session.LocalConnectionId.ToArray();

        using var attacker = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        // tls12_cid at epoch 0.
        byte[] epoch0 = new byte[13 + cid.Length + 40];
        DtlsRecordCodec.WriteHeader(epoch0, ContentType.Tls12Cid, DtlsVersion.Dtls12, 0, 99, cid, 40);
        await attacker.SendAsync(epoch0, (IPEndPoint)server.LocalEndPoint);
        // tls12_cid at epoch 1 with a far-ahead sequence number and garbage ciphertext (fails authentication).
        byte[] forged = new byte[13 + cid.Length + 40];
        DtlsRecordCodec.WriteHeader(forged, ContentType.Tls12Cid, DtlsVersion.Dtls12, 1, 1_000_000, cid, 40);
        RandomNumberGenerator.Fill(forged.AsSpan(13 + cid.Length));
        await attacker.SendAsync(forged, (IPEndPoint)server.LocalEndPoint);
        await Task.Delay(200);
        Assert.Equal(address, session.RemoteEndPoint);
        Assert.Empty(await ReceiveAnyAsync(attacker));
        await DtlsLoopbackTests.ExchangeAsync(client, server, "2");
        Assert.Equal(address, session.RemoteEndPoint);
    }

    [Fact]
    public async Task Attack15_MutatedFlights_AreDroppedWithoutHarm()
    {
        await using DtlsServerChannel server = NewServer();
        var captured = new List<byte[]>();
        await using (var forwarder = new LossyForwarder((IPEndPoint)server.LocalEndPoint))
        {
            forwarder.ToServerFilter = d => { lock (captured) { captured.Add(d); } return d; };
            await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(forwarder.EndPoint,
                DtlsLoopbackTests.ClientOptions(o => o.ClientCertificate = Pki.Client), DtlsLoopbackTests.Timeout());
            await DtlsLoopbackTests.ExchangeAsync(client, server);
        }

        var random = new Random(7);
        using var fuzzer = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        for (int i = 0; i < 400; i++)
        {
            byte[] d = (byte[])captured[random.Next(captured.Count)].Clone();
            switch (random.Next(4))
            {
                case 0:
                    d = d[..random.Next(d.Length)];
                    break;
                case 1:
                    d[random.Next(d.Length)] ^= (byte)(1 << random.Next(8));
                    break;
                case 2:
                    d[Math.Min(d.Length - 1, 11 + random.Next(3))] = (byte)random.Next(256); // record length
                    break;
                default:
                    d[Math.Min(d.Length - 1, 13 + random.Next(12))] = (byte)random.Next(256); // handshake header
                    break;
            }

            await fuzzer.SendAsync(d, (IPEndPoint)server.LocalEndPoint);
        }

        await Task.Delay(500);
        await AssertStillServesAsync(server);
    }

    private static async Task<List<byte[]>> ReceiveAnyAsync(UdpClient udp, int quietMs = 300)
    {
        var result = new List<byte[]>();
        while (true)
        {
            using var cts = new CancellationTokenSource(quietMs);
            try
            {
                result.Add((await udp.ReceiveAsync(cts.Token)).Buffer);
            }
            catch (OperationCanceledException)
            {
                return result;
            }
        }
    }
}
