using System.Net;

namespace CoapEnroll.Dtls.Tests;

/// <summary>After a peak of sessions the server's connection tables give their memory back, and lookups keep working.</summary>
public class DtlsServerTableTrimTests
{
    [Fact]
    public async Task ConnectionTables_ShrinkAfterAPeak_AndStillServe()
    {
        const int Peak = 40;
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0),
            DtlsLoopbackTests.ServerOptions(o => o.IdleTimeout = TimeSpan.FromSeconds(5)));
        server.TableTrimMinimumCapacity = 8;
        var endPoint = (IPEndPoint)server.LocalEndPoint;

        var clients = new List<DtlsClientChannel>();
        try
        {
            for (int i = 0; i < Peak; i++)
            {
                DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(endPoint, Psk(), DtlsLoopbackTests.Timeout());
                clients.Add(client);
                await DtlsLoopbackTests.ExchangeAsync(client, server, $"peak-{i}");
            }

            Assert.Equal(Peak, server.ConnectionCount);
            Assert.True(server.ConnectionTableCapacity >= Peak);
        }
        finally
        {
            foreach (DtlsClientChannel client in clients)
            {
                await client.DisposeAsync();
            }
        }

        // The idle sweep (every 1.25 s here) finds the tables less than a quarter full and trims them to twice their count.
        await DtlsLoopbackTests.WaitUntil(() => server.ConnectionCount == 0 && server.ConnectionTableCapacity < Peak / 4, 10_000);
        Assert.True(server.ConnectionTableCapacity < Peak / 4, $"capacity {server.ConnectionTableCapacity}");

        // Address and connection ID lookups work in the trimmed tables.
        await using DtlsClientChannel later = await DtlsClientChannel.ConnectAsync(endPoint, Psk(), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(later, server, "after the trim");
        Assert.Equal(1, server.ConnectionCount);
    }

    [Fact]
    public async Task TablesBelowTheMinimumCapacity_AreLeftAsTheyAre()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0),
            DtlsLoopbackTests.ServerOptions(o => o.IdleTimeout = TimeSpan.FromSeconds(5)));
        var endPoint = (IPEndPoint)server.LocalEndPoint;
        for (int i = 0; i < 12; i++)
        {
            await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync(endPoint, Psk(), DtlsLoopbackTests.Timeout());
            await DtlsLoopbackTests.ExchangeAsync(client, server, $"small-{i}");
        }

        await DtlsLoopbackTests.WaitUntil(() => server.ConnectionCount == 0, 5000);
        int capacity = server.ConnectionTableCapacity;
        Assert.True(capacity >= 3, $"capacity {capacity}"); // grown for its entries, then kept: far below the default minimum

        await Task.Delay(2700); // two sweeps
        Assert.Equal(capacity, server.ConnectionTableCapacity);
    }

    private static DtlsClientOptions Psk() => DtlsLoopbackTests.ClientOptions(o =>
    {
        o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
        o.PskIdentity = DtlsLoopbackTests.s_pskIdentity;
        o.PskKey = DtlsLoopbackTests.s_psk;
    });
}
