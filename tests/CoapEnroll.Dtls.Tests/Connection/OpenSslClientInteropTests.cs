using System.Net;
using System.Text;
using CoapEnroll.Transport;

namespace CoapEnroll.Dtls.Tests;

/// <summary>Our <see cref="DtlsServerChannel"/> against `openssl s_client -dtls1_2`, exchanging a line each way.</summary>
public class OpenSslClientInteropTests
{
    private static TestPki Pki => TestPki.Shared;

    [Theory]
    [InlineData("ECDHE-ECDSA-AES128-CCM8", false, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)]
    [InlineData("ECDHE-ECDSA-AES128-CCM8", true, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)]
    [InlineData(null, false, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)]
    [InlineData(null, true, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)]
    [InlineData("ECDHE-ECDSA-AES128-CCM", true, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM)]
    public async Task OpenSslClient_HandshakesAndExchangesData(string? cipher, bool clientCertificate, CipherSuite expectedSuite)
    {
        string keyLog = Path.Combine(Pki.Directory, $"keylog-{Guid.NewGuid():N}.txt");
        string opensslKeyLog = Path.Combine(Pki.Directory, $"osslkeylog-{Guid.NewGuid():N}.txt");
        var options = new DtlsServerOptions { Certificate = Pki.Server, KeyLogFile = keyLog };
        options.ClientCertificateTrustAnchors.Add(Pki.Root);
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), options);
        int port = ((IPEndPoint)server.LocalEndPoint).Port;

        string args = $"s_client -dtls1_2 -connect 127.0.0.1:{port} -CAfile {Pki.CaPem} -verify_return_error -verify_ip 127.0.0.1 -brief -keylogfile {opensslKeyLog}";
        if (cipher is not null)
        {
            args += $" -cipher {cipher}";
        }

        if (clientCertificate)
        {
            args += $" -cert {Pki.ClientCertPem} -key {Pki.ClientKeyPem}";
        }

        await using ExternalPeer client = ExternalPeer.Start("openssl", args, Pki.Directory);
        await client.WriteLineAsync("hello from openssl");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        byte[] buffer = new byte[2048];
        DatagramReceiveResult received;
        try
        {
            received = await server.ReceiveAsync(buffer, cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("No application data from openssl s_client.\n" + client.Output);
            throw;
        }

        Assert.Equal("hello from openssl\n", Encoding.UTF8.GetString(buffer, 0, received.ReceivedBytes));
        var session = Assert.IsType<DtlsSessionEndPoint>(received.RemoteEndPoint);
        Assert.Equal(expectedSuite, session.CipherSuite);
        Assert.Equal(12, session.TlsUnique.Length);
        if (clientCertificate)
        {
            Assert.NotNull(session.PeerCertificates);
            Assert.True(session.IsPeerCertificateValidated);
            Assert.Equal("CN=device-1", session.PeerCertificates![0].Subject);
        }
        else
        {
            Assert.Null(session.PeerCertificates);
        }

        await server.SendAsync(Encoding.UTF8.GetBytes("hello from dotnet\n"), session, cts.Token);
        await client.WaitForOutputAsync("hello from dotnet", TimeSpan.FromSeconds(10));

        // openssl's own key log line for this session must equal ours (NSS format, RFC 7627 master secret).
        Assert.True(File.Exists(keyLog), "our key log was not written");
        string ours = File.ReadAllText(keyLog).Trim();
        string theirs = File.ReadAllLines(opensslKeyLog).Single(l => l.StartsWith("CLIENT_RANDOM", StringComparison.Ordinal)).Trim();
        Assert.Equal(theirs.ToLowerInvariant(), ours.ToLowerInvariant());

        // Closing stdin makes s_client send close_notify; the session closes.
        client.CloseInput();
        Assert.True(await client.WaitForExitAsync(TimeSpan.FromSeconds(10)), "s_client did not exit\n" + client.Output);
        for (int i = 0; i < 100 && !session.IsClosed; i++)
        {
            await Task.Delay(20);
        }

        Assert.True(session.IsClosed, "close_notify did not close the session");
    }
}
