using System.Diagnostics;
using System.Net;
using CoapEnroll.Dtls;

namespace CoapEnroll.Dtls.Tests.Connection;

/// <summary>
/// RFC 6347 §4.2.1: the HelloVerifyRequest mirrors the first ClientHello's record sequence number and
/// the initial ServerHello the second's. When the server restarted at 0 instead, the client dropped
/// the ServerHello as a replay of the HelloVerifyRequest and every handshake waited for a retransmission.
/// </summary>
public class DtlsHandshakeTimingTests
{
    private static readonly TimeSpan InitialRetransmission = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8)]
    [InlineData(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8)]
    public async Task LosslessHandshake_NeedsNoRetransmission(CipherSuite suite)
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0),
            DtlsLoopbackTests.ServerOptions(o => o.InitialRetransmissionTimeout = InitialRetransmission));
        void Configure(DtlsClientOptions o)
        {
            o.CipherSuites = [suite];
            if (suite == CipherSuite.TLS_PSK_WITH_AES_128_CCM_8)
            {
                o.PskIdentity = DtlsLoopbackTests.s_pskIdentity;
                o.PskKey = DtlsLoopbackTests.s_psk;
            }
        }

        var clientOptions = DtlsLoopbackTests.ClientOptions(o =>
        {
            Configure(o);
            o.InitialRetransmissionTimeout = InitialRetransmission;
        });

        // Warm up the JIT and the crypto providers so the measured handshake is protocol time only.
        await using (await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(Configure), DtlsLoopbackTests.Timeout()))
        {
        }

        var clock = Stopwatch.StartNew();
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, clientOptions, DtlsLoopbackTests.Timeout());
        clock.Stop();

        Assert.True(clock.Elapsed < InitialRetransmission / 2,
            $"The handshake took {clock.Elapsed.TotalMilliseconds:0} ms: a flight was dropped and retransmitted.");
        await DtlsLoopbackTests.ExchangeAsync(client, server, "timing");
    }
}
