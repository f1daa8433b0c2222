using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// What protocols above DTLS read about a session (<see cref="ISecureSession"/>, e.g. EST's client certificate and
/// tls-unique) is what the DTLS session itself holds. Sessions without the extended master secret are covered in
/// <see cref="ExtendedMasterSecretTests"/>, which counts them.
/// </summary>
public class SecureSessionTests
{
    private static TestPki Pki => TestPki.Shared;

    [Theory]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, false)]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, true)]
    [InlineData(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, false)]
    public async Task ServerSession_SeenAsISecureSession_ReportsWhatTheDtlsSessionHolds(CipherSuite suite, bool clientCertificate)
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        DtlsClientOptions options = DtlsLoopbackTests.ClientOptions(o =>
        {
            o.CipherSuites = [suite];
            if (clientCertificate)
            {
                o.ClientCertificate = Pki.Client;
            }

            if (suite == CipherSuite.TLS_PSK_WITH_AES_128_CCM_8)
            {
                o.PskIdentity = DtlsLoopbackTests.s_pskIdentity;
                o.PskKey = DtlsLoopbackTests.s_psk;
            }
        });
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, DtlsLoopbackTests.Timeout());
        DtlsSessionEndPoint serverSide = await DtlsLoopbackTests.ExchangeAsync(client, server);

        ISecureSession session = serverSide;
        Assert.True(session.IsEstablished);
        Assert.Equal(serverSide.RemoteEndPoint, session.RemoteEndPoint);
        Assert.Equal(suite.ToString(), session.CipherSuiteName);
        Assert.True(session.IsExtendedMasterSecretNegotiated);
        Assert.Equal(client.RemoteEndPoint.TlsUnique, session.TlsUnique);
        Assert.Equal(clientCertificate, session.IsPeerCertificateValidated);
        if (clientCertificate)
        {
            Assert.Equal(Pki.Client.RawData, Assert.Single(session.PeerCertificates!).RawData);
        }
        else
        {
            Assert.True(session.PeerCertificates is null or { Count: 0 });
        }

        Assert.Equal(suite == CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 ? DtlsLoopbackTests.s_pskIdentity : null, session.PskIdentity);

        await server.CloseSessionAsync(serverSide, DtlsLoopbackTests.Timeout());
        Assert.False(session.IsEstablished);
    }
}
