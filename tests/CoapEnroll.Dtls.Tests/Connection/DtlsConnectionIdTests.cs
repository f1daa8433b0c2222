using System.Net;
using System.Text;

namespace CoapEnroll.Dtls.Tests;

/// <summary>The server routes records by connection ID (RFC 9146): several sessions at once, CIDs of every length.</summary>
public class DtlsConnectionIdTests
{
    [Fact]
    public async Task ANodePrefix_StartsEveryConnectionIdTheServerChooses_TheRestStaysRandom()
    {
        byte[] prefix = [0xA7, 0x01];
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions(o => o.ConnectionIdPrefix = prefix));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 3; i++)
        {
            await using DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
            DtlsSessionEndPoint session = await DtlsLoopbackTests.ExchangeAsync(client, server, $"{i}");
            byte[] cid = client.RemoteEndPoint.PeerConnectionId.ToArray();
            Assert.Equal(6, cid.Length);
            Assert.Equal(prefix, cid[..2]);
            Assert.Equal(cid, session.LocalConnectionId.ToArray());
            seen.Add(Convert.ToHexString(cid));
        }

        Assert.Equal(3, seen.Count);

        // A prefix that leaves fewer than 4 random bytes is refused.
        Assert.Throws<ArgumentOutOfRangeException>(() => DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0),
            DtlsLoopbackTests.ServerOptions(o => o.ConnectionIdPrefix = [1, 2, 3])));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(16)]
    [InlineData(32)]
    public async Task SeveralSessions_AreRoutedByConnectionId_AcrossAddressChanges(int cidLength)
    {
        const int Sessions = 4;
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), DtlsLoopbackTests.ServerOptions(o => o.ConnectionIdLength = cidLength));
        var forwarders = new LossyForwarder[Sessions];
        var clients = new DtlsClientChannel[Sessions];
        var sessions = new DtlsSessionEndPoint[Sessions];
        try
        {
            for (int i = 0; i < Sessions; i++)
            {
                forwarders[i] = new LossyForwarder((IPEndPoint)server.LocalEndPoint);
                clients[i] = await DtlsClientChannel.ConnectAsync(forwarders[i].EndPoint, DtlsLoopbackTests.ClientOptions(), DtlsLoopbackTests.Timeout());
                Assert.Equal(cidLength, clients[i].RemoteEndPoint.PeerConnectionId.Length);
                sessions[i] = await DtlsLoopbackTests.ExchangeAsync(clients[i], server, $"{i} before");
                Assert.Equal(cidLength, sessions[i].LocalConnectionId.Length);
            }

            Assert.Equal(Sessions, sessions.Distinct().Count());
            Assert.Equal(Sessions, sessions.Select(s => Convert.ToHexString(s.LocalConnectionId.Span)).Distinct().Count());

            // Every client moves: from now on only its CID identifies its session. Interleave the sessions.
            IPEndPoint[] before = sessions.Select(s => s.RemoteEndPoint).ToArray();
            foreach (LossyForwarder forwarder in forwarders)
            {
                forwarder.Rebind();
            }

            for (int round = 0; round < 2; round++)
            {
                for (int i = Sessions - 1; i >= 0; i--)
                {
                    string text = $"{i} after {round}";
                    await clients[i].SendAsync(Encoding.UTF8.GetBytes(text), clients[i].RemoteEndPoint, default);
                    (byte[] data, EndPoint from) = await DtlsLoopbackTests.ReceiveAsync(server);
                    Assert.Equal(text, Encoding.UTF8.GetString(data));
                    Assert.Same(sessions[i], from);
                    Assert.NotEqual(before[i], sessions[i].RemoteEndPoint);
                }
            }

            for (int i = 0; i < Sessions; i++)
            {
                Assert.Same(sessions[i], await DtlsLoopbackTests.ExchangeAsync(clients[i], server, $"{i} replies"));
            }

            // A closed session's CID leaves the table; the others still route.
            await clients[0].DisposeAsync();
            // IsClosed turns true just before the channel removes the connection from its table.
            await DtlsLoopbackTests.WaitUntil(() => sessions[0].IsClosed && server.ConnectionCount == Sessions - 1);
            Assert.Same(sessions[1], await DtlsLoopbackTests.ExchangeAsync(clients[1], server, "1 last"));
        }
        finally
        {
            foreach (DtlsClientChannel? client in clients)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }

            foreach (LossyForwarder? forwarder in forwarders)
            {
                if (forwarder is not null)
                {
                    await forwarder.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public void Comparer_MatchesByContent_AndLooksUpBySpan()
    {
        var table = new Dictionary<byte[], int>(ConnectionIdComparer.Instance);
        Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> bySpan = table.GetAlternateLookup<ReadOnlySpan<byte>>();
        for (int length = 1; length <= 32; length++)
        {
            table.Add(Enumerable.Range(0, length).Select(i => (byte)(i * 7 + length)).ToArray(), length);
        }

        for (int length = 1; length <= 32; length++)
        {
            byte[] key = Enumerable.Range(0, length).Select(i => (byte)(i * 7 + length)).ToArray();
            Assert.True(bySpan.TryGetValue(key.AsSpan(), out int found));
            Assert.Equal(length, found);
            Assert.Equal(length, table[key.ToArray()]);
            if (length > 1)
            {
                Assert.False(bySpan.TryGetValue(key.AsSpan(0, length - 1), out _)); // a prefix is another CID
            }

            key[^1] ^= 1;
            Assert.False(bySpan.TryGetValue(key.AsSpan(), out _));
        }

        Assert.False(bySpan.TryGetValue([], out _));
        IEqualityComparer<byte[]> comparer = ConnectionIdComparer.Instance;
        Assert.True(comparer.Equals([1, 2, 3], [1, 2, 3]));
        Assert.Equal(comparer.GetHashCode([1, 2, 3]), comparer.GetHashCode([1, 2, 3]));
        Assert.False(comparer.Equals([1, 2, 3], [1, 2]));
        Assert.False(comparer.Equals([1, 2, 3], null));
    }
}
