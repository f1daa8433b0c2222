using System.Net;
using System.Text;
using CoapEnroll.Transport;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// Our client against `openssl s_server -dtls1_2` and `gnutls-serv -u`, and our server against `gnutls-cli -u`.
/// These need the binaries (Debian openssl, gnutls-bin) and fail, not skip, when they are missing.
/// </summary>
public class RealPeerInteropTests
{
    private const string GnuTlsPriority = "NORMAL:+AES-128-CCM-8:+AES-128-CCM:+VERS-DTLS1.2";

    private static TestPki Pki => TestPki.Shared;

    private static DtlsClientOptions ClientOptions(CipherSuite? suite, bool clientCertificate) => DtlsLoopbackTests.ClientOptions(o =>
    {
        o.InitialRetransmissionTimeout = TimeSpan.FromMilliseconds(300);
        if (suite is { } s)
        {
            o.CipherSuites = [s];
        }

        if (clientCertificate)
        {
            o.ClientCertificate = Pki.Client;
        }
    });

    [Theory]
    [InlineData("ECDHE-ECDSA-AES128-CCM8", false, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)]
    [InlineData("ECDHE-ECDSA-AES128-CCM8", true, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)]
    [InlineData(null, false, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)]
    [InlineData(null, true, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)]
    public async Task OurClient_AgainstOpenSslServer(string? cipher, bool clientCertificate, CipherSuite expected)
    {
        int port = ExternalPeer.FreeUdpPort();
        string args = $"s_server -dtls1_2 -accept 127.0.0.1:{port} -cert {Pki.ServerCertPem} -key {Pki.ServerKeyPem}";
        args += cipher is null ? "" : $" -cipher {cipher}";
        args += clientCertificate ? $" -Verify 1 -CAfile {Pki.CaPem} -verify_return_error" : "";
        await using ExternalPeer server = ExternalPeer.Start("openssl", args, Pki.Directory);
        await server.WaitForOutputAsync("ACCEPT", TimeSpan.FromSeconds(10));

        // Without a preference the client offers CCM_8 first; OpenSSL's default list then picks GCM.
        await using DtlsClientChannel client = await ConnectOrFailAsync(new IPEndPoint(IPAddress.Loopback, port),
            ClientOptions(cipher is null ? null : expected, clientCertificate), server);
        Assert.Equal(expected, client.RemoteEndPoint.CipherSuite);
        await client.SendAsync(Encoding.UTF8.GetBytes("hello from dotnet\n"), client.RemoteEndPoint, default);
        await server.WaitForOutputAsync("hello from dotnet", TimeSpan.FromSeconds(10));
        await server.WriteLineAsync("hello from openssl");
        (byte[] data, _) = await DtlsLoopbackTests.ReceiveAsync(client);
        Assert.Equal("hello from openssl\n", Encoding.UTF8.GetString(data));
        if (clientCertificate)
        {
            Assert.Contains("device-1", server.Output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, false)]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true)]
    public async Task OurClient_AgainstGnuTlsServer(CipherSuite suite, bool clientCertificate)
    {
        int port = ExternalPeer.FreeUdpPort();
        string args = $"-u -p {port} --echo --x509certfile {Pki.ServerCertPem} --x509keyfile {Pki.ServerKeyPem} --x509cafile {Pki.CaPem} --priority {GnuTlsPriority}";
        args += clientCertificate ? " --require-client-cert --verify-client-cert" : "";
        await using ExternalPeer server = ExternalPeer.Start("gnutls-serv", args, Pki.Directory);
        await server.WaitForOutputAsync("listening", TimeSpan.FromSeconds(10));
        await using DtlsClientChannel client = await ConnectOrFailAsync(new IPEndPoint(IPAddress.Loopback, port), ClientOptions(suite, clientCertificate), server);
        Assert.Equal(suite, client.RemoteEndPoint.CipherSuite);
        await client.SendAsync(Encoding.UTF8.GetBytes("echo me"), client.RemoteEndPoint, default);
        (byte[] data, _) = await DtlsLoopbackTests.ReceiveAsync(client);
        Assert.Equal("echo me", Encoding.UTF8.GetString(data));
    }

    [Theory]
    [InlineData("NORMAL:-CIPHER-ALL:+AES-128-CCM-8:+VERS-DTLS1.2", false, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)]
    [InlineData("NORMAL:+VERS-DTLS1.2", true, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)]
    public async Task GnuTlsClient_AgainstOurServer(string priority, bool clientCertificate, CipherSuite expected)
    {
        var options = DtlsLoopbackTests.ServerOptions(o => o.CipherSuites = [expected]);
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), options);
        int port = ((IPEndPoint)server.LocalEndPoint).Port;
        string args = $"-u -p {port} 127.0.0.1 --x509cafile {Pki.CaPem} --priority {priority}";
        args += clientCertificate ? $" --x509certfile {Pki.ClientCertPem} --x509keyfile {Pki.ClientKeyPem}" : "";
        await using ExternalPeer client = ExternalPeer.Start("gnutls-cli", args, Pki.Directory);
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
        Assert.Equal(expected, session.CipherSuite);
        Assert.Equal(clientCertificate, session.IsPeerCertificateValidated);
        await server.SendAsync(Encoding.UTF8.GetBytes("hello from dotnet\n"), session, default);
        await client.WaitForOutputAsync("hello from dotnet", TimeSpan.FromSeconds(10));
    }

    private static async Task<DtlsClientChannel> ConnectOrFailAsync(IPEndPoint server, DtlsClientOptions options, ExternalPeer peer)
    {
        try
        {
            return await DtlsClientChannel.ConnectAsync(server, options, DtlsLoopbackTests.Timeout(15));
        }
        catch (Exception ex) when (ex is DtlsHandshakeException or OperationCanceledException)
        {
            Assert.Fail($"Handshake with the real peer failed: {ex.Message}\n{peer.Output}");
            throw;
        }
    }
}
