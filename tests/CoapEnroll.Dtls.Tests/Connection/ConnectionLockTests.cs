using System.Net;
using System.Text;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// Every write of a connection (application data, flights, alerts) runs under its async lock. Sends racing from many tasks
/// must each get their own record sequence number and their own sealed record: two holders at once would repeat a number
/// (the peer drops the second as a replay) or interleave a record.
/// </summary>
public class ConnectionLockTests
{
    [Fact]
    public async Task ConcurrentSends_OnOneSession_AllArriveIntact()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions());
        await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
        DtlsSessionEndPoint session = await DtlsLoopbackTests.ExchangeAsync(client, server);

        // Within the client's 256-datagram queue and well within the sockets' buffers, so nothing is lost on loopback.
        const int Count = 120;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task[] senders = Enumerable.Range(0, Count).Select(i => Task.Run(async () =>
        {
            await start.Task;
            await server.SendAsync(Encoding.UTF8.GetBytes($"datagram {i}"), session, default);
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(senders);

        var received = new HashSet<string>();
        for (int i = 0; i < Count; i++)
        {
            (byte[] data, _) = await DtlsLoopbackTests.ReceiveAsync(client);
            Assert.True(received.Add(Encoding.UTF8.GetString(data)));
        }

        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"datagram {i}").Order(), received.Order());
        await DtlsLoopbackTests.ExchangeAsync(client, server, "after");
    }
}
