using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// The extended master secret policy (RFC 7627 §5.2): Required, the default, refuses a peer without the extension with
/// handshake_failure; Optional admits it with the RFC 5246 master secret, logs and counts the session, and refuses its
/// tls-unique and exporters (RFC 7627 §5.4). Peers without the extension: our client with its test-only switch, a
/// hand-driven client, <c>gnutls-cli</c> with <c>%NO_SESSION_HASH</c>, and <c>openssl s_client</c>/<c>s_server</c> with the
/// ExtendedMasterSecret option off. Every test of this assembly that completes a handshake without the extension is in
/// this class, whose tests xunit runs one at a time, so the counts of the metric seen here are this class's own.
/// </summary>
public class ExtendedMasterSecretTests
{
    private const CipherSuite Ecdhe = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;
    private const CipherSuite Psk = CipherSuite.TLS_PSK_WITH_AES_128_CCM_8;

    // %NO_SESSION_HASH: GnuTLS leaves extended_master_secret out of its ClientHello.
    private const string GnuTlsPskNoSessionHash = "NORMAL:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8:+VERS-DTLS1.2:%NO_SESSION_HASH";
    private const string GnuTlsEcdheNoSessionHash = "NORMAL:-CIPHER-ALL:+AES-128-CCM-8:+VERS-DTLS1.2:%NO_SESSION_HASH";

    private static TestPki Pki => TestPki.Shared;

    private static DtlsServerOptions ServerOptions(ExtendedMasterSecretPolicy policy, Action<DtlsServerOptions>? configure = null) =>
        DtlsLoopbackTests.ServerOptions(o =>
        {
            o.ExtendedMasterSecret = policy;
            configure?.Invoke(o);
        });

    /// <summary>Our client playing a legacy one through the test-only switch: no extended_master_secret in its ClientHello.</summary>
    private static DtlsClientOptions LegacyClientOptions(CipherSuite suite, bool clientCertificate = false) => DtlsLoopbackTests.ClientOptions(o =>
    {
        o.OfferExtendedMasterSecret = false;
        o.ExtendedMasterSecret = ExtendedMasterSecretPolicy.Optional;
        o.CipherSuites = [suite];
        if (suite == Psk)
        {
            o.PskIdentity = DtlsLoopbackTests.s_pskIdentity;
            o.PskKey = DtlsLoopbackTests.s_psk;
        }

        if (clientCertificate)
        {
            o.ClientCertificate = Pki.Client;
        }
    });

    private static DtlsServerChannel Bind(DtlsServerOptions options) => DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), options);

    private static Task<DtlsClientChannel> ConnectAsync(DtlsServerChannel server, DtlsClientOptions options) =>
        DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, DtlsLoopbackTests.Timeout());

    [Fact]
    public void Policy_DefaultsToRequired_AndUndefinedValuesAreRefused()
    {
        Assert.Equal(ExtendedMasterSecretPolicy.Required, new DtlsServerOptions().ExtendedMasterSecret);
        Assert.Equal(ExtendedMasterSecretPolicy.Required, new DtlsClientOptions().ExtendedMasterSecret);
        Assert.True(new DtlsClientOptions().OfferExtendedMasterSecret);

        Assert.Throws<ArgumentOutOfRangeException>(() => Bind(ServerOptions((ExtendedMasterSecretPolicy)7)));
        DtlsClientOptions undefined = DtlsLoopbackTests.ClientOptions(o => o.ExtendedMasterSecret = (ExtendedMasterSecretPolicy)7);
        Assert.Throws<ArgumentOutOfRangeException>(undefined.Validate);

        // A client that does not offer the extension cannot insist on it.
        DtlsClientOptions contradictory = DtlsLoopbackTests.ClientOptions(o => o.OfferExtendedMasterSecret = false);
        Assert.Throws<ArgumentException>(contradictory.Validate);
    }

    [Theory]
    [InlineData(Ecdhe)]
    [InlineData(Psk)]
    public async Task DefaultServer_RefusesAClientWithoutTheExtension_WithHandshakeFailure(CipherSuite suite)
    {
        using var counter = new LegacyHandshakeCounter();
        var log = new CapturingLoggerProvider();
        await using DtlsServerChannel server = Bind(DtlsLoopbackTests.ServerOptions(o => o.LoggerFactory = log.CreateFactory()));

        var refused = await Assert.ThrowsAsync<DtlsHandshakeException>(() => ConnectAsync(server, LegacyClientOptions(suite)));
        Assert.Equal(AlertDescription.HandshakeFailure, refused.Alert);
        Assert.True(refused.ReceivedFromPeer);
        Assert.Contains(log.Entries, e => e.Message.Contains("client does not offer extended_master_secret", StringComparison.Ordinal));

        // Clients that offer it still get in.
        await using DtlsClientChannel client = await ConnectAsync(server, DtlsLoopbackTests.ClientOptions());
        Assert.True((await DtlsLoopbackTests.ExchangeAsync(client, server)).IsExtendedMasterSecretNegotiated);
        Assert.Equal((0, 0), counter.Counts);
    }

    [Theory]
    [InlineData(Ecdhe, false)]
    [InlineData(Ecdhe, true)]
    [InlineData(Psk, false)]
    public async Task OptionalServer_AdmitsAClientWithoutTheExtension_AndWithholdsChannelBindings(CipherSuite suite, bool clientCertificate)
    {
        using var counter = new LegacyHandshakeCounter();
        var log = new CapturingLoggerProvider();
        await using DtlsServerChannel server = Bind(ServerOptions(ExtendedMasterSecretPolicy.Optional, o => o.LoggerFactory = log.CreateFactory()));
        await using DtlsClientChannel client = await ConnectAsync(server, LegacyClientOptions(suite, clientCertificate));
        DtlsSessionEndPoint serverSide = await DtlsLoopbackTests.ExchangeAsync(client, server);
        DtlsSessionEndPoint clientSide = client.RemoteEndPoint;

        Assert.Equal(suite, serverSide.CipherSuite);
        Assert.Equal(clientCertificate, serverSide.IsPeerCertificateValidated);
        Assert.False(serverSide.IsExtendedMasterSecretNegotiated);
        Assert.False(clientSide.IsExtendedMasterSecretNegotiated);

        // RFC 7627 §5.4: nothing that rests on the session being unique is handed out, on either side.
        var tlsUnique = Assert.Throws<InvalidOperationException>(() => serverSide.TlsUnique);
        Assert.Contains("extended_master_secret", tlsUnique.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => clientSide.TlsUnique);
        var exporter = Assert.Throws<InvalidOperationException>(() => serverSide.ExportKeyingMaterial("EXPORTER-test", null, 32));
        Assert.Contains("extended_master_secret", exporter.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => clientSide.ExportKeyingMaterial("EXPORTER-test", null, 32));

        // The handshake itself agreed: both ends computed the same Finished.
        Assert.Equal(clientSide.Connection.TlsUnique.ToArray(), serverSide.Connection.TlsUnique.ToArray());

        Assert.Equal((1, 1), counter.Counts);
        var entry = Assert.Single(log.Entries, e => e.EventId.Id == 111);
        Assert.Equal(LogLevel.Information, entry.Level);
        Assert.Contains("without extended_master_secret", entry.Message, StringComparison.Ordinal);
        Assert.Contains(serverSide.RemoteEndPoint.ToString(), entry.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ExtendedMasterSecretPolicy.Optional, ExtendedMasterSecretPolicy.Required)]
    [InlineData(ExtendedMasterSecretPolicy.Required, ExtendedMasterSecretPolicy.Optional)]
    [InlineData(ExtendedMasterSecretPolicy.Optional, ExtendedMasterSecretPolicy.Optional)]
    public async Task Optional_StillNegotiatesTheExtension_WithPeersThatSupportIt(ExtendedMasterSecretPolicy serverPolicy, ExtendedMasterSecretPolicy clientPolicy)
    {
        using var counter = new LegacyHandshakeCounter();
        await using DtlsServerChannel server = Bind(ServerOptions(serverPolicy));
        await using DtlsClientChannel client = await ConnectAsync(server, DtlsLoopbackTests.ClientOptions(o => o.ExtendedMasterSecret = clientPolicy));
        DtlsSessionEndPoint serverSide = await DtlsLoopbackTests.ExchangeAsync(client, server);

        Assert.True(serverSide.IsExtendedMasterSecretNegotiated);
        Assert.True(client.RemoteEndPoint.IsExtendedMasterSecretNegotiated);
        Assert.Equal(client.RemoteEndPoint.TlsUnique, serverSide.TlsUnique);
        Assert.Equal(client.RemoteEndPoint.ExportKeyingMaterial("EXPORTER-test", null, 16), serverSide.ExportKeyingMaterial("EXPORTER-test", null, 16));
        Assert.Equal((0, 0), counter.Counts);
    }

    [Fact]
    public async Task OptionalServer_DoesNotEchoTheExtension_AndDerivesTheRfc5246MasterSecret()
    {
        using var counter = new LegacyHandshakeCounter();
        string keyLog = Path.Combine(Pki.Directory, $"keylog-{Guid.NewGuid():N}.txt");
        await using DtlsServerChannel server = Bind(ServerOptions(ExtendedMasterSecretPolicy.Optional, o => o.KeyLogFile = keyLog));
        using var client = new ManualClient((IPEndPoint)server.LocalEndPoint) { ExtendedMasterSecretData = null };
        await client.HandshakeToServerHelloDoneAsync(Ecdhe);

        // RFC 7627 §5.2: a server that continues without the extension MUST NOT include it in the ServerHello.
        Assert.True(ServerHello.TryParse(client.ServerFlight[0].Body, out ServerHello? hello));
        Assert.Null(TlsExtensions.Find(hello.Extensions, ExtensionType.ExtendedMasterSecret));

        // The client side of the key schedule is written out in ManualClient with TlsPrf: PRF(pre_master, "master secret",
        // client_random + server_random). The server's Finished verifies under it only if the server derived the same.
        byte[] certificate = client.Plain(new CertificateMessage());
        byte[] keyExchange = client.Plain(client.EcdheKeyExchange(Ecdhe));
        client.DeriveKeys();
        byte[] changeCipherSpec = client.Ccs();
        byte[] finished = client.EncryptedHandshake(client.ClientFinished());
        await client.SendAsync(certificate, keyExchange, changeCipherSpec, finished);
        byte[] expected = client.ExpectedServerVerifyData();
        (ContentType type, byte[] plaintext) = Assert.Single(client.OpenAll(await client.ReceiveAllAsync(2000)));
        Assert.Equal(ContentType.Handshake, type);
        Assert.True(HandshakeHeader.TryRead(plaintext, out HandshakeHeader header, out ReadOnlySpan<byte> body, out _));
        Assert.Equal(HandshakeType.Finished, header.Type);
        Assert.True(Finished.TryParse(body, out Finished? serverFinished));
        Assert.Equal(expected, serverFinished.VerifyData);

        await client.SendAsync(client.Encrypted(ContentType.ApplicationData, Encoding.UTF8.GetBytes("legacy")));
        (byte[] data, EndPoint from) = await DtlsLoopbackTests.ReceiveAsync(server);
        Assert.Equal("legacy", Encoding.UTF8.GetString(data));
        Assert.False(Assert.IsType<DtlsSessionEndPoint>(from).IsExtendedMasterSecretNegotiated);

        // The NSS key log line is the same CLIENT_RANDOM line, with the RFC 5246 master secret.
        string line = Assert.Single(File.ReadAllLines(keyLog));
        Assert.Equal($"CLIENT_RANDOM {Convert.ToHexStringLower(client.Random)} {Convert.ToHexStringLower(client.MasterSecret)}", line);
        Assert.Equal((1, 0), counter.Counts);
    }

    [Theory]
    [InlineData(ExtendedMasterSecretPolicy.Required)]
    [InlineData(ExtendedMasterSecretPolicy.Optional)]
    public async Task ExtensionWithData_IsADecodeError(ExtendedMasterSecretPolicy policy)
    {
        await using DtlsServerChannel server = Bind(ServerOptions(policy));
        using var client = new ManualClient((IPEndPoint)server.LocalEndPoint) { ExtendedMasterSecretData = [0] };
        byte[] cookie = await client.ExchangeCookieAsync(Ecdhe);
        await client.SendAsync(client.Plain(client.Hello(cookie, Ecdhe)));

        // A longer quiet period than the attack tests': the first handshake of a cold test process can take longer than 400 ms.
        List<byte[]> replies = await client.ReceiveAllAsync(2000);
        DtlsAlert? alert = client.FindAlert(replies);
        Assert.NotNull(alert);
        Assert.Equal(AlertLevel.Fatal, alert.Value.Level);
        Assert.Equal(AlertDescription.DecodeError, alert.Value.Description); // RFC 7627 §5.1: extension_data is empty
    }

    // ---- GnuTLS (gnutls-cli -u with %NO_SESSION_HASH) against our server ----

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task GnuTlsClientWithoutSessionHash_IsRefusedByDefault_WithHandshakeFailure(bool certificate, bool clientCertificate)
    {
        using var counter = new LegacyHandshakeCounter();
        var log = new CapturingLoggerProvider();
        await using DtlsServerChannel server = Bind(DtlsLoopbackTests.ServerOptions(o => o.LoggerFactory = log.CreateFactory()));
        await using ExternalPeer client = StartGnuTlsClient(server, certificate, clientCertificate);
        await client.WriteLineAsync("hello from gnutls");
        Assert.True(await client.WaitForExitAsync(TimeSpan.FromSeconds(20)), "gnutls-cli did not give up\n" + client.Output);

        Assert.NotEqual(0, client.ExitCode);
        Assert.Contains("Handshake failed", client.Output, StringComparison.Ordinal); // GnuTLS's name of alert 40
        Assert.Contains(log.Entries, e => e.Message.Contains("HandshakeFailure: client does not offer extended_master_secret", StringComparison.Ordinal));
        Assert.Equal(0, server.ConnectionCount);
        Assert.Equal((0, 0), counter.Counts);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task GnuTlsClientWithoutSessionHash_CompletesWithOptional(bool certificate, bool clientCertificate)
    {
        using var counter = new LegacyHandshakeCounter();
        await using DtlsServerChannel server = Bind(ServerOptions(ExtendedMasterSecretPolicy.Optional));
        await using ExternalPeer client = StartGnuTlsClient(server, certificate, clientCertificate);
        await client.WriteLineAsync("hello from gnutls");
        DatagramReceiveResult received;
        byte[] buffer = new byte[2048];
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            try
            {
                received = await server.ReceiveAsync(buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("No application data from gnutls-cli.\n" + client.Output);
                throw;
            }
        }

        Assert.StartsWith("hello from gnutls", Encoding.UTF8.GetString(buffer, 0, received.ReceivedBytes), StringComparison.Ordinal);
        var session = Assert.IsType<DtlsSessionEndPoint>(received.RemoteEndPoint);
        Assert.Equal(certificate ? Ecdhe : Psk, session.CipherSuite);
        Assert.Equal(clientCertificate, session.IsPeerCertificateValidated);
        Assert.False(session.IsExtendedMasterSecretNegotiated);
        Assert.Throws<InvalidOperationException>(() => session.TlsUnique);
        await server.SendAsync(Encoding.UTF8.GetBytes("hello from dotnet\n"), session, default);
        await client.WaitForOutputAsync("hello from dotnet", TimeSpan.FromSeconds(10));
        Assert.Equal((1, 0), counter.Counts);
    }

    private static ExternalPeer StartGnuTlsClient(DtlsServerChannel server, bool certificate, bool clientCertificate)
    {
        int port = ((IPEndPoint)server.LocalEndPoint).Port;
        string args = $"-u -p {port} 127.0.0.1";
        if (certificate)
        {
            args += $" --x509cafile {Pki.CaPem} --priority {GnuTlsEcdheNoSessionHash}";
            args += clientCertificate ? $" --x509certfile {Pki.ClientCertPem} --x509keyfile {Pki.ClientKeyPem}" : "";
        }
        else
        {
            args += $" --pskusername {Encoding.UTF8.GetString(DtlsLoopbackTests.s_pskIdentity)} --pskkey {Convert.ToHexStringLower(DtlsLoopbackTests.s_psk)}"
                + $" --priority {GnuTlsPskNoSessionHash}";
        }

        return ExternalPeer.Start("gnutls-cli", args, Pki.Directory);
    }

    // ---- OpenSSL with the ExtendedMasterSecret option off ----

    [Theory]
    [InlineData(ExtendedMasterSecretPolicy.Required)]
    [InlineData(ExtendedMasterSecretPolicy.Optional)]
    public async Task OpenSslClientWithoutEms_AgainstOurServer(ExtendedMasterSecretPolicy policy)
    {
        using var counter = new LegacyHandshakeCounter();
        string keyLog = Path.Combine(Pki.Directory, $"keylog-{Guid.NewGuid():N}.txt");
        string opensslKeyLog = Path.Combine(Pki.Directory, $"osslkeylog-{Guid.NewGuid():N}.txt");
        await using DtlsServerChannel server = Bind(ServerOptions(policy, o => o.KeyLogFile = keyLog));
        int port = ((IPEndPoint)server.LocalEndPoint).Port;
        await using ExternalPeer client = ExternalPeer.Start("openssl",
            $"s_client -dtls1_2 -connect 127.0.0.1:{port} -CAfile {Pki.CaPem} -verify_return_error -verify_ip 127.0.0.1 -keylogfile {opensslKeyLog}"
                + " -cipher ECDHE-ECDSA-AES128-CCM8",
            Pki.Directory, WithoutExtendedMasterSecret());
        await client.WriteLineAsync("hello from openssl");

        if (policy == ExtendedMasterSecretPolicy.Required)
        {
            Assert.True(await client.WaitForExitAsync(TimeSpan.FromSeconds(20)), "s_client did not give up\n" + client.Output);
            Assert.Contains("alert handshake failure", client.Output, StringComparison.Ordinal);
            Assert.Equal((0, 0), counter.Counts);
            return;
        }

        byte[] buffer = new byte[2048];
        DatagramReceiveResult received;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            try
            {
                received = await server.ReceiveAsync(buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("No application data from openssl s_client.\n" + client.Output);
                throw;
            }
        }

        Assert.Equal("hello from openssl\n", Encoding.UTF8.GetString(buffer, 0, received.ReceivedBytes));
        var session = Assert.IsType<DtlsSessionEndPoint>(received.RemoteEndPoint);
        Assert.False(session.IsExtendedMasterSecretNegotiated);
        await server.SendAsync(Encoding.UTF8.GetBytes("hello from dotnet\n"), session, default);
        await client.WaitForOutputAsync("hello from dotnet", TimeSpan.FromSeconds(10));
        Assert.Contains("Extended master secret: no", client.Output, StringComparison.Ordinal);
        AssertSameKeyLogLine(keyLog, opensslKeyLog);
        Assert.Equal((1, 0), counter.Counts);
    }

    [Theory]
    [InlineData(ExtendedMasterSecretPolicy.Required)]
    [InlineData(ExtendedMasterSecretPolicy.Optional)]
    public async Task OurClient_AgainstOpenSslServerWithoutEms(ExtendedMasterSecretPolicy policy)
    {
        using var counter = new LegacyHandshakeCounter();
        string keyLog = Path.Combine(Pki.Directory, $"keylog-{Guid.NewGuid():N}.txt");
        string opensslKeyLog = Path.Combine(Pki.Directory, $"osslkeylog-{Guid.NewGuid():N}.txt");
        int port = ExternalPeer.FreeUdpPort();
        await using ExternalPeer server = ExternalPeer.Start("openssl",
            $"s_server -dtls1_2 -accept 127.0.0.1:{port} -cert {Pki.ServerCertPem} -key {Pki.ServerKeyPem} -cipher ECDHE-ECDSA-AES128-CCM8 -keylogfile {opensslKeyLog}",
            Pki.Directory, WithoutExtendedMasterSecret());
        await server.WaitForOutputAsync("ACCEPT", TimeSpan.FromSeconds(10));
        DtlsClientOptions options = DtlsLoopbackTests.ClientOptions(o =>
        {
            o.ExtendedMasterSecret = policy;
            o.CipherSuites = [Ecdhe];
            o.InitialRetransmissionTimeout = TimeSpan.FromMilliseconds(300);
            o.KeyLogFile = keyLog;
        });
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);

        if (policy == ExtendedMasterSecretPolicy.Required)
        {
            var refused = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync(endPoint, options, DtlsLoopbackTests.Timeout(15)));
            Assert.Equal(AlertDescription.HandshakeFailure, refused.Alert);
            Assert.False(refused.ReceivedFromPeer);
            Assert.Contains("server does not negotiate extended_master_secret", refused.Message, StringComparison.Ordinal);
            Assert.Equal((0, 0), counter.Counts);
            return;
        }

        DtlsClientChannel client;
        try
        {
            client = await DtlsClientChannel.ConnectAsync(endPoint, options, DtlsLoopbackTests.Timeout(15));
        }
        catch (Exception ex) when (ex is DtlsHandshakeException or OperationCanceledException)
        {
            Assert.Fail($"Handshake with openssl s_server failed: {ex.Message}\n{server.Output}");
            throw;
        }

        await using (client)
        {
            Assert.False(client.RemoteEndPoint.IsExtendedMasterSecretNegotiated);
            Assert.Throws<InvalidOperationException>(() => client.RemoteEndPoint.TlsUnique);
            await client.SendAsync(Encoding.UTF8.GetBytes("hello from dotnet\n"), client.RemoteEndPoint, default);
            await server.WaitForOutputAsync("hello from dotnet", TimeSpan.FromSeconds(10));
            await server.WriteLineAsync("hello from openssl");
            (byte[] data, _) = await DtlsLoopbackTests.ReceiveAsync(client);
            Assert.Equal("hello from openssl\n", Encoding.UTF8.GetString(data));
        }

        AssertSameKeyLogLine(keyLog, opensslKeyLog);
        Assert.Equal((0, 1), counter.Counts);
    }

    /// <summary>OPENSSL_CONF for a peer whose every SSL_CTX has SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3.0 has no flag for it).</summary>
    private static Dictionary<string, string> WithoutExtendedMasterSecret()
    {
        string path = Path.Combine(Pki.Directory, "openssl-no-ems.cnf");
        File.WriteAllText(path, """
            openssl_conf = openssl_init
            [openssl_init]
            ssl_conf = ssl_section
            [ssl_section]
            system_default = system_default_section
            [system_default_section]
            Options = -ExtendedMasterSecret

            """);
        return new Dictionary<string, string> { ["OPENSSL_CONF"] = path };
    }

    /// <summary>Our key log line for the session equals OpenSSL's: the same client random and (RFC 5246) master secret.</summary>
    private static void AssertSameKeyLogLine(string ours, string openssl)
    {
        Assert.True(File.Exists(ours), "our key log was not written");
        string line = Assert.Single(File.ReadAllLines(ours));
        string theirs = File.ReadAllLines(openssl).Single(l => l.StartsWith("CLIENT_RANDOM", StringComparison.Ordinal)).Trim();
        Assert.Equal(theirs.ToLowerInvariant(), line.ToLowerInvariant());
    }

    /// <summary>What <c>dtls.handshakes.without_extended_master_secret</c> counted while this instance listened, by role.</summary>
    private sealed class LegacyHandshakeCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _server;
        private long _client;

        public LegacyHandshakeCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "CoapEnroll.Dtls" && instrument.Name == "dtls.handshakes.without_extended_master_secret")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    if (tag.Key == "dtls.role")
                    {
                        Interlocked.Add(ref tag.Value is "server" ? ref _server : ref _client, value);
                    }
                }
            });
            _listener.Start();
        }

        public (long Server, long Client) Counts => (Interlocked.Read(ref _server), Interlocked.Read(ref _client));

        public void Dispose() => _listener.Dispose();
    }
}
