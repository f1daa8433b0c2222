using System.Net;
using CoapEnroll.Coap.Tests.Observe;
using CoapEnroll.Transport;
using static CoapEnroll.Coap.Tests.BlockWise.BlockWiseTestData;

namespace CoapEnroll.Coap.Tests.BlockWise;

/// <summary>Block2 with observe: notifications cut to their first block, the rest by plain GET (RFC 7959 §2.6).</summary>
public class BlockWiseObserveTests
{
    [Fact]
    public async Task Notification_IsCutToTheRegisteredBlockSize_AndLaterBlocksComeFromThatRepresentation()
    {
        int version = 1;
        int calls = 0;
        var options = new CoapServerOptions
        {
            Endpoint = { AckTimeout = TimeSpan.FromMilliseconds(100), MaxRetransmit = 2, ResponseTimeout = TimeSpan.FromSeconds(3) },
            Observe = { MinNonConfirmableInterval = TimeSpan.Zero },
        };
        await using var server = new CoapServer(options);
        server.MapGet("/doc", (_, _) =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload(Body(300, Volatile.Read(ref version))));
        }).Observable();
        var address = (IPEndPoint)server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0))).LocalEndPoint;
        await using var peer = RawCoapPeer.Create(address);

        var register = ObserveTestServer.Request("/doc", [1, 2, 3, 4]).WithBlock2(new BlockOption(0, false, 2));
        var first = await peer.RequestAsync(register);
        Assert.NotNull(first.Observe);
        Assert.Equal(new BlockOption(0, true, 2), first.Block2);
        Assert.Equal(Body(300, 1).AsSpan(0, 64).ToArray(), first.Payload.ToArray());
        var etag1 = first.ETag!.Value.ToArray();

        Volatile.Write(ref version, 2);
        Assert.Equal(1, server.NotifyObservers("/doc"));
        var notification = await peer.ReceiveAsync();
        if (notification.Type == CoapMessageType.Confirmable)
        {
            await peer.AckAsync(notification);
        }

        Assert.NotNull(notification.Observe);
        Assert.Equal(new BlockOption(0, true, 2), notification.Block2);
        Assert.Equal(300u, notification.Size2);
        Assert.Equal(Body(300, 2).AsSpan(0, 64).ToArray(), notification.Payload.ToArray());
        var etag2 = notification.ETag!.Value.ToArray();
        Assert.NotEqual(etag1, etag2);

        // The rest with plain GETs (Figure 12), from the notified representation even though the state moved on.
        Volatile.Write(ref version, 3);
        var second = await peer.RequestAsync((CoapMessage.CreateRequest(CoapCode.Get, "/doc") with { Token = new byte[] { 9 } }).WithBlock2(new BlockOption(1, false, 2)));
        Assert.Null(second.Observe);
        Assert.Equal(new BlockOption(1, true, 2), second.Block2);
        Assert.Equal(etag2, second.ETag!.Value.ToArray());
        Assert.Equal(Body(300, 2).AsSpan(64, 64).ToArray(), second.Payload.ToArray());
        Assert.Equal(2, Volatile.Read(ref calls));
    }
}
