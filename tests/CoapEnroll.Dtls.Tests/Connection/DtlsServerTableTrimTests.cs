using System.Net;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// After a peak of sessions the server's connection tables give their memory back, and lookups keep working. The server runs on a
/// manual clock, so the idle sweep (every 30 s at a 10 min idle timeout) runs exactly when the test advances it and never evicts.
/// </summary>
public class DtlsServerTableTrimTests
{
    private const int Peak = 40;

    private static readonly TimeSpan s_sweep = TimeSpan.FromSeconds(31);

    [Fact]
    public async Task ConnectionTables_ShrinkAfterAPeak_AndStillServe()
    {
        var time = new ManualTimeProvider();
        await using DtlsServerChannel server = Bind(time);
        server.TableTrimMinimumCapacity = 8;

        await PeakThenCloseAllAsync(server);
        Assert.True(server.ConnectionTableCapacity >= Peak); // closed, but no sweep yet

        // The sweep finds the tables less than a quarter full and trims them to twice their count.
        time.Advance(s_sweep);
        Assert.True(server.ConnectionTableCapacity < Peak / 4, $"capacity {server.ConnectionTableCapacity}");

        // Address and connection ID lookups work in the trimmed tables.
        await using DtlsClientChannel later = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, Psk(), DtlsLoopbackTests.Timeout());
        await DtlsLoopbackTests.ExchangeAsync(later, server, "after the trim");
        Assert.Equal(1, server.ConnectionCount);
    }

    [Fact]
    public async Task TablesBelowTheMinimumCapacity_AreLeftAsTheyAre()
    {
        var time = new ManualTimeProvider();
        await using DtlsServerChannel server = Bind(time); // the shipped minimum, 1024: far above this peak
        await PeakThenCloseAllAsync(server);
        int capacity = server.ConnectionTableCapacity;
        Assert.True(capacity >= Peak);

        time.Advance(s_sweep);
        time.Advance(s_sweep);
        Assert.Equal(capacity, server.ConnectionTableCapacity); // empty, yet kept: small tables are not worth rehashing
    }

    private static DtlsServerChannel Bind(ManualTimeProvider time) => DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0),
        DtlsLoopbackTests.ServerOptions(o =>
        {
            o.TimeProvider = time;
            o.IdleTimeout = TimeSpan.FromMinutes(10);
        }));

    /// <summary>Opens <see cref="Peak"/> sessions at once, then closes them all (close_notify) and waits until the server has none.</summary>
    private static async Task PeakThenCloseAllAsync(DtlsServerChannel server)
    {
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
        }
        finally
        {
            foreach (DtlsClientChannel client in clients)
            {
                await client.DisposeAsync();
            }
        }

        await DtlsLoopbackTests.WaitUntil(() => server.ConnectionCount == 0, 10_000);
    }

    private static DtlsClientOptions Psk() => DtlsLoopbackTests.ClientOptions(o =>
    {
        o.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
        o.PskIdentity = DtlsLoopbackTests.s_pskIdentity;
        o.PskKey = DtlsLoopbackTests.s_psk;
    });
}
