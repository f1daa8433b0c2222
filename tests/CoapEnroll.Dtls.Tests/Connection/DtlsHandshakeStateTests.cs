using System.Net;
using System.Text;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// Once established, a connection drops its handshake state (transcript, reassembler, key exchange) and keeps
/// only what the rest of its life needs: for a while the server's final flight, which it must still resend
/// when the client repeats its last flight (RFC 6347 §4.2.4), until the client's application data shows it arrived.
/// </summary>
public class DtlsHandshakeStateTests
{
    private const CipherSuite Ecdhe = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8;

    private static TestPki Pki => TestPki.Shared;

    [Fact]
    public async Task FinalFlight_IsResentAfterHandshakeStateIsReleased_UntilTheClientsApplicationData()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        using var client = new ManualClient((IPEndPoint)server.LocalEndPoint);
        await client.HandshakeToServerHelloDoneAsync(Ecdhe);

        // message_seq: ClientHello 0 (cookie-less) and 1, then Certificate 2, ClientKeyExchange 3, Finished 4.
        var certificate = new CertificateMessage();
        EcdheClientKeyExchange keyExchange = client.EcdheKeyExchange(Ecdhe);
        byte[] cert = client.Plain(certificate);
        byte[] cke = client.Plain(keyExchange);
        client.DeriveKeys();
        Finished finished = client.ClientFinished();
        byte[] ccs = client.Ccs();
        byte[] fin = client.EncryptedHandshake(finished);
        await client.SendAsync(cert, cke, ccs, fin);
        byte[] expected = client.ExpectedServerVerifyData();
        AssertServerFinished(client, await client.ReceiveUntilAsync(ManualClient.HasEpochOneRecord), expected);

        // The session is established and has released its handshake state, all but its final flight.
        DtlsServerConnection connection = Assert.Single(server.GetConnections());
        Assert.True(connection.IsEstablished);
        Assert.False(connection.HoldsHandshakeState);
        Assert.Equal(2, connection.RetainedFlightLength);
        Assert.True(connection.RetainsCompactFinalFlight); // resent below from its compact form

        // The server's final flight was "lost": the client repeats its whole last flight with new record numbers,
        // later than half the 100 ms initial timeout that rate-limits the answers.
        await Task.Delay(200);
        await client.SendAsync(
            client.Retransmission(certificate, 2, encrypted: false),
            client.Retransmission(keyExchange, 3, encrypted: false),
            client.Ccs(),
            client.Retransmission(finished, 4, encrypted: true));
        List<byte[]> resent = await client.ReceiveUntilAsync(ManualClient.HasEpochOneRecord);
        AssertServerFinished(client, resent, expected);
        Assert.Null(client.FindAlert(resent));

        // ... and again: the final flight is not sent once more only.
        await Task.Delay(200);
        await client.SendAsync(client.Retransmission(finished, 4, encrypted: true));
        AssertServerFinished(client, await client.ReceiveUntilAsync(ManualClient.HasEpochOneRecord), expected);

        // The client's application data shows that the flight arrived (a client sends it only after the server's Finished):
        // the server drops the flight.
        await client.SendAsync(client.Encrypted(ContentType.ApplicationData, Encoding.UTF8.GetBytes("hello")));
        (byte[] data, EndPoint from) = await DtlsLoopbackTests.ReceiveAsync(server);
        Assert.Equal("hello", Encoding.UTF8.GetString(data));
        var session = Assert.IsType<DtlsSessionEndPoint>(from);
        Assert.Same(connection, session.Connection);
        Assert.Equal(0, connection.RetainedFlightLength);
        Assert.False(connection.RetainsCompactFinalFlight);

        // A repeated client flight now goes unanswered, and the session is unharmed.
        await Task.Delay(200);
        await client.SendAsync(client.Retransmission(finished, 4, encrypted: true));
        Assert.False(ManualClient.HasEpochOneRecord(await client.ReceiveAllAsync(quietMs: 1000)));
        Assert.True(session.IsEstablished);

        // The session still carries data both ways.
        await server.SendAsync(Encoding.UTF8.GetBytes("world"), session, default);
        (ContentType type, byte[] reply) = Assert.Single(client.OpenAll(await client.ReceiveUntilAsync(ManualClient.HasEpochOneRecord)));
        Assert.Equal(ContentType.ApplicationData, type);
        Assert.Equal("world", Encoding.UTF8.GetString(reply));
        Assert.Equal(1, server.ConnectionCount);
    }

    [Fact]
    public async Task ServerConnection_DropsKeyExchangeTimerAndReassembly_WhenTheClientsFinishedArrives()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        using var client = new ManualClient((IPEndPoint)server.LocalEndPoint);
        await client.HandshakeToServerHelloDoneAsync(Ecdhe);

        // Mid-handshake: the server waits for the client's flight with its ECDHE key pair and an armed timer.
        DtlsServerConnection connection = Assert.Single(server.GetConnections());
        Assert.False(connection.IsEstablished);
        Assert.True(connection.HoldsKeyExchangeState);
        Assert.True(connection.HasRetransmissionTimer);
        Assert.True(connection.HoldsHandshakeState);

        var certificate = new CertificateMessage();
        byte[] cert = client.Plain(certificate);
        byte[] cke = client.Plain(client.EcdheKeyExchange(Ecdhe));
        client.DeriveKeys();
        Finished clientFinished = client.ClientFinished();
        byte[] fin = client.EncryptedHandshake(clientFinished);
        await client.SendAsync(cert, cke, client.Ccs(), fin);
        AssertServerFinished(client, await client.ReceiveUntilAsync(ManualClient.HasEpochOneRecord), client.ExpectedServerVerifyData());

        Assert.Same(connection, Assert.Single(server.GetConnections()));
        Assert.True(connection.IsEstablished);
        Assert.False(connection.HoldsKeyExchangeState);
        Assert.False(connection.HasRetransmissionTimer);
        Assert.False(connection.HoldsHandshakeState);
        // What stays for §4.2.4 is the final flight: ChangeCipherSpec and Finished, nothing of the earlier flights.
        Assert.Equal(2, connection.RetainedFlightLength);

        // The session's EndPoint is made on first use (none was needed yet), once: concurrent first reads get the same object.
        DtlsSessionEndPoint[] seen = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => connection.EndPoint)));
        Assert.All(seen, e => Assert.Same(seen[0], e));
        Assert.Same(connection, seen[0].Connection);

        // The randoms and the master secret the session keeps for exporters (in one array) are the ones the client used:
        // the server's exporter equals RFC 5705's over the manual client's own values.
        byte[] expectedExport = new byte[20];
        DtlsKeySchedule.ExportKeyingMaterial(client.MasterSecret, client.Random, client.ServerRandom, "EXPORTER-test", [7], expectedExport);
        Assert.Equal(expectedExport, connection.EndPoint.ExportKeyingMaterial("EXPORTER-test", [7], 20));

        // tls-unique, kept in the same array, is the client's Finished verify_data (RFC 5929 §3.1).
        Assert.Equal(clientFinished.VerifyData, connection.EndPoint.TlsUnique);

        // Closed, the session has no master secret left to export from; tls-unique stays readable, as before.
        await connection.CloseAsync(sendCloseNotify: false, CancellationToken.None);
        Assert.Throws<InvalidOperationException>(() => connection.EndPoint.ExportKeyingMaterial("EXPORTER-test", [7], 20));
        Assert.Equal(clientFinished.VerifyData, connection.EndPoint.TlsUnique);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task EstablishedConnections_HoldNoHandshakeState_OnEitherSide(bool clientCertificate, bool psk)
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(o =>
        {
            if (clientCertificate)
            {
                o.ClientCertificate = Pki.Client;
            }

            if (psk)
            {
                o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
                o.PskIdentity = DtlsLoopbackTests.s_pskIdentity;
                o.PskKey = DtlsLoopbackTests.s_psk;
            }
        }), DtlsLoopbackTests.Timeout());
        DtlsSessionEndPoint serverSide = await DtlsLoopbackTests.ExchangeAsync(client, server);

        Assert.False(client.RemoteEndPoint.Connection.HoldsHandshakeState);
        Assert.False(serverSide.Connection.HoldsHandshakeState);
        Assert.Equal(0, serverSide.Connection.RetainedFlightLength); // the client's data proved the final flight arrived
        Assert.Equal(clientCertificate, serverSide.PeerCertificates is not null);
        Assert.Equal(client.RemoteEndPoint.TlsUnique, serverSide.TlsUnique);
        Assert.Equal(client.RemoteEndPoint.ExportKeyingMaterial("EXPORTER-test", null, 16), serverSide.ExportKeyingMaterial("EXPORTER-test", null, 16));
        await DtlsLoopbackTests.ExchangeAsync(client, server, "again");
    }

    [Fact]
    public async Task Close_ReleasesHandshakeState()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        var options = DtlsLoopbackTests.ClientOptions(o => o.ServerName = "other.example");
        var connection = new DtlsClientConnection(options, new NullOwner(), (IPEndPoint)server.LocalEndPoint, null);
        Assert.True(connection.HoldsHandshakeState);
        await connection.CloseAsync(sendCloseNotify: false, default);
        Assert.True(connection.IsClosed);
        Assert.False(connection.HoldsHandshakeState);
    }

    private static void AssertServerFinished(ManualClient client, List<byte[]> datagrams, byte[] expectedVerifyData)
    {
        Assert.True(ManualClient.HasEpochOneRecord(datagrams), "no final flight from the server");
        (ContentType type, byte[] plaintext) = Assert.Single(client.OpenAll(datagrams));
        Assert.Equal(ContentType.Handshake, type);
        Assert.True(HandshakeHeader.TryRead(plaintext, out HandshakeHeader header, out ReadOnlySpan<byte> body, out _));
        Assert.Equal(HandshakeType.Finished, header.Type);
        Assert.True(Finished.TryParse(body, out Finished? finished));
        Assert.Equal(expectedVerifyData, finished.VerifyData);
    }

    private sealed class NullOwner : IDtlsConnectionOwner
    {
        public ValueTask SendDatagramAsync(ReadOnlyMemory<byte> datagram, IPEndPoint remote, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void OnEstablished(DtlsConnection connection)
        {
        }

        public void OnClosed(DtlsConnection connection, Exception? error)
        {
        }

        public void OnApplicationData(DtlsConnection connection, PooledDatagram data) => data.Return();

        public void OnRemoteChanged(DtlsConnection connection, IPEndPoint previous)
        {
        }
    }
}
