using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Observe;

public class ObserveClientTests
{
    [Fact]
    public async Task ObserveAsync_YieldsResponseAndNotifications()
    {
        await using var server = new ObserveTestServer();
        await using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var received = new List<CoapMessage>();
        await foreach (var message in client.ObserveAsync(CoapMessage.CreateRequest(CoapCode.Get, "/state"), server.Address, cts.Token))
        {
            received.Add(message);
            if (received.Count == 6)
            {
                break;
            }

            server.State = received.Count;
            server.Resource.NotifyObservers();
        }

        Assert.Equal(["0", "1", "2", "3", "4", "5"], received.Select(m => m.PayloadText));
        Assert.All(received, m => Assert.NotNull(m.Observe));
        for (int i = 1; i < received.Count; i++)
        {
            Assert.True(ObserveSequence.IsNewer(received[i].Observe!.Value, received[i - 1].Observe!.Value));
        }
    }

    [Fact]
    public async Task ObserveAsync_ConfirmableNotifications_AreAcknowledged()
    {
        await using var server = new ObserveTestServer(o => o.Observe.ConfirmableInterval = TimeSpan.Zero);
        await using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        int count = 0;
        await foreach (var message in client.ObserveAsync(CoapMessage.CreateRequest(CoapCode.Get, "/state"), server.Address, cts.Token))
        {
            if (++count == 4)
            {
                Assert.Equal(CoapMessageType.Confirmable, message.Type);
                break;
            }

            server.State = count;
            server.Resource.NotifyObservers();
        }

        // Had any CON gone unacknowledged, the server would have dropped the observer before the next.
        Assert.Equal(4, count);
    }

    [Fact]
    public async Task ObserveAsync_ErrorNotification_EndsEnumeration()
    {
        await using var server = new ObserveTestServer();
        await using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var received = new List<CoapMessage>();
        await foreach (var message in client.ObserveAsync(CoapMessage.CreateRequest(CoapCode.Get, "/state"), server.Address, cts.Token))
        {
            received.Add(message);
            server.Failing = true;
            server.Resource.NotifyObservers();
        }

        Assert.Equal(2, received.Count);
        Assert.Equal(CoapCode.NotFound, received[1].Code);
        Assert.Null(received[1].Observe);
        Assert.Equal(0, server.Resource.ObserverCount);
    }

    [Fact]
    public async Task ObserveAsync_NotObservable_YieldsOneResponseAndEnds()
    {
        await using var server = new ObserveTestServer();
        server.Server.MapGet("/plain", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload("p")));
        await using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var received = new List<CoapMessage>();
        await foreach (var message in client.ObserveAsync(CoapMessage.CreateRequest(CoapCode.Get, "/plain"), server.Address, cts.Token))
        {
            received.Add(message);
        }

        Assert.Single(received);
        Assert.Null(received[0].Observe);
    }

    [Fact]
    public async Task CancellingEnumeration_DeregistersWithObserve1()
    {
        await using var server = new ObserveTestServer();
        await using var client = server.CreateClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var message in client.ObserveAsync(CoapMessage.CreateRequest(CoapCode.Get, "/state"), server.Address, cts.Token))
            {
                Assert.Equal(1, server.Resource.ObserverCount);
                await cts.CancelAsync();
            }
        });

        // The deregistration ran before the enumeration finished, so the entry is already gone.
        Assert.Equal(0, server.Resource.ObserverCount);
        CoapMessage[] requests;
        lock (server.Requests)
        {
            requests = [.. server.Requests];
        }

        Assert.Equal(2, requests.Length);
        Assert.Equal(0u, requests[0].Observe);
        Assert.Equal(1u, requests[1].Observe);
        Assert.Equal(requests[0].Token.ToArray(), requests[1].Token.ToArray());
    }

    [Fact]
    public async Task BreakingOutOfEnumeration_Deregisters()
    {
        await using var server = new ObserveTestServer();
        await using var client = server.CreateClient();

        await foreach (var message in client.ObserveAsync(CoapMessage.CreateRequest(CoapCode.Get, "/state"), server.Address))
        {
            break;
        }

        Assert.Equal(0, server.Resource.ObserverCount);
    }

    [Fact]
    public async Task ObserveAsync_DropsReorderedNotifications()
    {
        // A hand-made server that sends notifications out of order.
        await using var fakeServer = RawCoapPeer.Create(new IPEndPoint(IPAddress.Loopback, 1));
        var serverAddress = fakeServer.LocalEndPoint;
        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(serverAddress), new CoapClientOptions
        {
            Endpoint = { AckTimeout = TimeSpan.FromMilliseconds(100), MaxRetransmit = 2, ResponseTimeout = TimeSpan.FromSeconds(3) },
        });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var serving = Task.Run(async () =>
        {
            var request = await fakeServer.ReceiveAsync();   // learns the client's address
            Assert.Equal(0u, request.Observe);
            var response = new CoapMessage { Type = CoapMessageType.Acknowledgement, Code = CoapCode.Content, MessageId = request.MessageId, Token = request.Token };
            await fakeServer.SendAsync(response.SetUInt(CoapOptionNumber.Observe, 0xFFFFF0).WithPayload("a"));
            ushort mid = 500;
            foreach (var (observe, payload) in new[] { (0xFFFFF2u, "b"), (0xFFFFF1u, "stale"), (3u, "c"), (0xFFFFF5u, "stale"), (3u, "dup"), (4u, "d") })
            {
                await fakeServer.SendAsync(new CoapMessage { Type = CoapMessageType.NonConfirmable, Code = CoapCode.Content, MessageId = mid++, Token = request.Token }
                    .SetUInt(CoapOptionNumber.Observe, observe).WithPayload(payload));
            }
        });

        var received = new List<string>();
        await foreach (var message in client.ObserveAsync(CoapMessage.CreateRequest(CoapCode.Get, "/x"), serverAddress, cts.Token))
        {
            received.Add(message.PayloadText);
            if (message.PayloadText == "d")
            {
                break;
            }
        }

        await serving;
        Assert.Equal(["a", "b", "c", "d"], received);
    }

    [Fact]
    public async Task ObserveAsync_RejectsNonGetOrFetch()
    {
        await using var client = new CoapClient(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var _ in client.ObserveAsync(CoapMessage.CreateRequest(CoapCode.Post, "/x"), new IPEndPoint(IPAddress.Loopback, 9)))
            {
            }
        });
    }
}
