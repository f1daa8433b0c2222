using System.Net;
using static CoapEnroll.Coap.Tests.BlockWise.BlockWiseTestData;

namespace CoapEnroll.Coap.Tests.BlockWise;

/// <summary>The server layer's Block1 side, driven with crafted requests (RFC 7959 §2.5, §2.9, RFC 9175 §3).</summary>
public class BlockWiseLayerBlock1Tests
{
    private static RecordingHandler EchoLength() => new(ctx => new CoapMessage { Code = CoapCode.Changed }.WithPayload($"got {ctx.Request.Payload.Length}"));

    private static Task<CoapMessage> Send(CoapBlockWiseLayer layer, CoapEndpoint endpoint, CoapMessage request, EndPoint? peer = null)
        => layer.HandleAsync(new CoapRequestContext(request, peer ?? Peer(), endpoint), CancellationToken.None).AsTask();

    [Fact]
    public async Task FourKilobytesIn16ByteBlocks_Continue_ThenOneHandlerRunWithTheWholeBody()
    {
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var body = Body(4096);

        for (int num = 0; num < 255; num++)
        {
            var cont = await Send(layer, endpoint, Block(body, num, 0));
            Assert.Equal(CoapCode.Continue, cont.Code);
            Assert.Equal(new BlockOption(num, true, 0), cont.Block1);
            Assert.True(cont.Payload.IsEmpty);
            Assert.Null(cont.Block2);
        }

        Assert.Equal(0, inner.Calls);
        Assert.Equal(1, layer.ReassemblyCount);
        Assert.Equal(255 * 16, layer.ReassemblyBytes);

        var final = await Send(layer, endpoint, Block(body, 255, 0));
        Assert.Equal(CoapCode.Changed, final.Code);
        Assert.Equal(new BlockOption(255, false, 0), final.Block1);
        Assert.Equal("got 4096", final.PayloadText);

        var seen = Assert.Single(inner.Requests);
        Assert.Equal(body, seen.Payload.ToArray());
        Assert.Null(seen.Block1);
        Assert.Null(seen.Size1);
        Assert.Equal("upload", seen.UriPath);
        Assert.Equal(CoapContentFormat.OctetStream, seen.ContentFormat);
        Assert.Equal(0, layer.ReassemblyCount);
        Assert.Equal(0, layer.ReassemblyBytes);
    }

    [Fact]
    public async Task ServerPrefersSmallerBlocks_ContinueCarriesItsSzx_AndTheClientMayRenumber()
    {
        // RFC 7959 Figure 9: 1:0/1/128 is answered 2.31 1:0/1/32; the client goes on with 1:4/1/32.
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions { PreferredBlockSize = 32 });
        await using var endpoint = DirectEndpoint();
        var body = Body(200);

        var first = await Send(layer, endpoint, Block(body, 0, 3));
        Assert.Equal(CoapCode.Continue, first.Code);
        Assert.Equal(new BlockOption(0, true, 1), first.Block1);

        for (int num = 4; num < 6; num++)
        {
            var cont = await Send(layer, endpoint, Block(body, num, 1));
            Assert.Equal(new BlockOption(num, true, 1), cont.Block1);
        }

        var final = await Send(layer, endpoint, Block(body, 6, 1));
        Assert.Equal(new BlockOption(6, false, 1), final.Block1);
        Assert.Equal(body, Assert.Single(inner.Requests).Payload.ToArray());
    }

    [Fact]
    public async Task MissingBlock_Gets408_AndTheTransferCanStillContinueInOrder()
    {
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var body = Body(100);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1))).Code);
        var gap = await Send(layer, endpoint, Block(body, 2, 1));
        Assert.Equal(CoapCode.RequestEntityIncomplete, gap.Code);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 1, 1))).Code);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 2, 1))).Code);
        Assert.Equal(CoapCode.Changed, (await Send(layer, endpoint, Block(body, 3, 1))).Code);
        Assert.Equal(body, Assert.Single(inner.Requests).Payload.ToArray());
    }

    [Fact]
    public async Task LaterBlockWithoutTransfer_Gets408()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var response = await Send(layer, endpoint, Block(Body(100), 3, 1));
        Assert.Equal(CoapCode.RequestEntityIncomplete, response.Code);
    }

    [Fact]
    public async Task ContentFormatChangingMidTransfer_Gets408()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var body = Body(100);
        await Send(layer, endpoint, Block(body, 0, 1));
        var response = await Send(layer, endpoint, Block(body, 1, 1).WithContentFormat(CoapContentFormat.TextPlain));
        Assert.Equal(CoapCode.RequestEntityIncomplete, response.Code);
    }

    [Fact]
    public async Task Size1AboveTheLimit_Gets413WithTheLimit()
    {
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions { MaxRequestBodySize = 1000 });
        await using var endpoint = DirectEndpoint();

        var response = await Send(layer, endpoint, Block(Body(1001), 0, 4));
        Assert.Equal(CoapCode.RequestEntityTooLarge, response.Code);
        Assert.Equal(1000u, response.Size1);
        Assert.Equal(0, layer.ReassemblyCount);
    }

    [Fact]
    public async Task BodyGrowingPastTheLimitWithoutSize1_Gets413AndIsDropped()
    {
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions { MaxRequestBodySize = 100 });
        await using var endpoint = DirectEndpoint();
        var body = Body(200);

        for (int num = 0; num < 3; num++)
        {
            Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, num, 1, size1: false))).Code);
        }

        var response = await Send(layer, endpoint, Block(body, 3, 1, size1: false));
        Assert.Equal(CoapCode.RequestEntityTooLarge, response.Code);
        Assert.Equal(100u, response.Size1);
        Assert.Equal(0, layer.ReassemblyCount);
        Assert.Equal(0, inner.Calls);
    }

    [Fact]
    public async Task BlockSizeNotMatchingPayloadWithMoreSet_Gets400()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var request = Block(Body(100), 0, 1).WithPayload(Body(20));
        Assert.Equal(CoapCode.BadRequest, (await Send(layer, endpoint, request)).Code);
    }

    [Fact]
    public async Task ResentBlocks_InNewMessages_AreIdempotent_AndTheFinalOneReplaysTheResponse()
    {
        int calls = 0;
        var inner = new RecordingHandler(ctx => new CoapMessage { Code = CoapCode.Created }.WithPayload($"call {++calls}"));
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var body = Body(100);

        await Send(layer, endpoint, Block(body, 0, 1));
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1))).Code);
        await Send(layer, endpoint, Block(body, 1, 1));
        var again = await Send(layer, endpoint, Block(body, 1, 1));
        Assert.Equal(CoapCode.Continue, again.Code);
        Assert.Equal(new BlockOption(1, true, 1), again.Block1);
        await Send(layer, endpoint, Block(body, 2, 1));

        var final = await Send(layer, endpoint, Block(body, 3, 1));
        var replay = await Send(layer, endpoint, Block(body, 3, 1));
        Assert.Equal("call 1", final.PayloadText);
        Assert.Equal("call 1", replay.PayloadText);
        Assert.Equal(CoapCode.Created, replay.Code);
        Assert.Equal(new BlockOption(3, false, 1), replay.Block1);
        Assert.Equal(body, Assert.Single(inner.Requests).Payload.ToArray());

        // A different final block is not a replay: without a transfer in progress it is incomplete.
        var other = await Send(layer, endpoint, Block(Body(100, 7), 3, 1));
        Assert.Equal(CoapCode.RequestEntityIncomplete, other.Code);
    }

    [Fact]
    public async Task ResentBlockWithDifferentContent_Gets408()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var body = Body(100);
        await Send(layer, endpoint, Block(body, 0, 1));
        await Send(layer, endpoint, Block(body, 1, 1));
        var response = await Send(layer, endpoint, Block(Body(100, 9), 1, 1));
        Assert.Equal(CoapCode.RequestEntityIncomplete, response.Code);
    }

    [Fact]
    public async Task NewBlockZero_RestartsTheTransfer()
    {
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var oldBody = Body(100, 1);
        var newBody = Body(64, 2);
        await Send(layer, endpoint, Block(oldBody, 0, 1));
        await Send(layer, endpoint, Block(oldBody, 1, 1));

        await Send(layer, endpoint, Block(newBody, 0, 1));
        Assert.Equal(32, layer.ReassemblyBytes);
        await Send(layer, endpoint, Block(newBody, 1, 1));
        Assert.Equal(newBody, Assert.Single(inner.Requests).Payload.ToArray());
    }

    [Fact]
    public async Task Block1AndBlock2_LargePostLargeAnswer_HandlerRunsOnce()
    {
        var answer = Body(4000, 5);
        var inner = new RecordingHandler(_ => new CoapMessage { Code = CoapCode.Changed }.WithPayload(answer));
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var body = Body(600);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 3))).Code);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 1, 3))).Code);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 2, 3))).Code);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 3, 3))).Code);

        // RFC 7959 Figure 11: the final block carries early Block2 negotiation (64 bytes).
        var final = await Send(layer, endpoint, Block(body, 4, 3).WithBlock2(new BlockOption(0, false, 2)));
        Assert.Equal(CoapCode.Changed, final.Code);
        Assert.Equal(new BlockOption(4, false, 3), final.Block1);
        Assert.Equal(new BlockOption(0, true, 2), final.Block2);
        Assert.Equal(4000u, final.Size2);
        var etag = final.ETag!.Value.ToArray();

        var received = new List<byte>(final.Payload.ToArray());
        var continuation = CoapMessage.CreateRequest(CoapCode.Post, "/upload").WithContentFormat(CoapContentFormat.OctetStream);
        for (int num = 1; ; num++)
        {
            var next = await Send(layer, endpoint, continuation.WithBlock2(new BlockOption(num, false, 2)));
            Assert.Equal(CoapCode.Changed, next.Code);
            Assert.Null(next.Block1);
            Assert.Equal(num, next.Block2!.Value.Number);
            Assert.Equal(etag, next.ETag!.Value.ToArray());
            received.AddRange(next.Payload.ToArray());
            if (!next.Block2.Value.More)
            {
                break;
            }
        }

        Assert.Equal(answer, received.ToArray());
        Assert.Equal(body, Assert.Single(inner.Requests).Payload.ToArray());
    }

    [Fact]
    public async Task InterleavedTransfersToOneResource_AreKeptApartByRequestTag()
    {
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var a = Body(96, 1);
        var b = Body(80, 2);

        for (int num = 0; num < 3; num++)
        {
            await Send(layer, endpoint, Block(a, num, 1));
            await Send(layer, endpoint, Block(b, num, 1, tag: [7]));
        }

        Assert.Equal(2, inner.Calls);
        var bodies = inner.Requests.Select(r => r.Payload.ToArray()).ToList();
        Assert.Contains(a, bodies);
        Assert.Contains(b, bodies);
    }

    [Fact]
    public async Task PerPeerTransferLimit_Gets503WithMaxAge_OtherPeersUnaffected()
    {
        var time = new AdjustableTimeProvider();
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions { MaxTransfersPerPeer = 2, TransferLifetime = TimeSpan.FromSeconds(60) });
        await using var endpoint = DirectEndpoint(time);
        var body = Body(100);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1, "/a"))).Code);
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1, "/b"))).Code);

        var refused = await Send(layer, endpoint, Block(body, 0, 1, "/c"));
        Assert.Equal(CoapCode.ServiceUnavailable, refused.Code);
        Assert.InRange(refused.MaxAge!.Value, 39u, 41u);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1, "/c"), Peer(40001))).Code);

        // Finishing one transfer frees a slot.
        await Send(layer, endpoint, Block(body, 1, 1, "/a"));
        await Send(layer, endpoint, Block(body, 2, 1, "/a"));
        Assert.Equal(CoapCode.Changed, (await Send(layer, endpoint, Block(body, 3, 1, "/a"))).Code);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1, "/c"))).Code);
    }

    [Fact]
    public async Task AbandonedTransfers_ExpireAfterTheLifetime()
    {
        var time = new AdjustableTimeProvider();
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions { MaxTransfersPerPeer = 1, TransferLifetime = TimeSpan.FromSeconds(60) });
        await using var endpoint = DirectEndpoint(time);
        var body = Body(100);

        await Send(layer, endpoint, Block(body, 0, 1, "/a"));
        await Send(layer, endpoint, Block(body, 0, 1, "/b"), Peer(40001));
        Assert.Equal(CoapCode.ServiceUnavailable, (await Send(layer, endpoint, Block(body, 0, 1, "/c"))).Code);

        // Activity keeps a transfer alive: 50 s + 50 s after its start it is still there.
        time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 1, 1, "/a"))).Code);
        time.Advance(TimeSpan.FromSeconds(50));
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 2, 1, "/a"))).Code);
        Assert.Equal(1, layer.ReassemblyCount); // peer 40001's transfer, idle for 100 s, was swept

        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(CoapCode.RequestEntityIncomplete, (await Send(layer, endpoint, Block(body, 3, 1, "/a"))).Code);
        Assert.Equal(0, layer.ReassemblyCount);
        Assert.Equal(0, layer.ReassemblyBytes);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1, "/c"))).Code);
    }

    [Fact]
    public async Task PerPeerBytes_Get413_TotalBytes_Get503()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions
        {
            MaxReassemblyBytesPerPeer = 100,
            MaxReassemblyBytesTotal = 150,
            MaxUnauthenticatedReassemblyBytesTotal = 149,
        });
        await using var endpoint = DirectEndpoint();
        var body = Body(200);

        // Size1 announces 200 bytes: more than this peer may hold.
        Assert.Equal(CoapCode.RequestEntityTooLarge, (await Send(layer, endpoint, Block(body, 0, 1))).Code);

        // Without Size1 the bound is hit while the body grows; the transfer is dropped.
        for (int num = 0; num < 3; num++)
        {
            Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, num, 1, size1: false))).Code);
        }

        Assert.Equal(CoapCode.RequestEntityTooLarge, (await Send(layer, endpoint, Block(body, 3, 1, size1: false))).Code);
        Assert.Equal(0, layer.ReassemblyBytes);

        // Two authenticated sessions on two hosts at 64 bytes each; a third block anywhere would pass 150 in total.
        var one = new TestSession(new IPEndPoint(IPAddress.Parse("192.0.2.10"), 1), validatedCertificate: true);
        var two = new TestSession(new IPEndPoint(IPAddress.Parse("192.0.2.11"), 1), validatedCertificate: true);
        var small = Body(100);
        await Send(layer, endpoint, Block(small, 0, 1, size1: false), one);
        await Send(layer, endpoint, Block(small, 1, 1, size1: false), one);
        await Send(layer, endpoint, Block(small, 0, 1, size1: false), two);
        await Send(layer, endpoint, Block(small, 1, 1, size1: false), two);
        var busy = await Send(layer, endpoint, Block(small, 2, 1, size1: false), two);
        Assert.Equal(CoapCode.ServiceUnavailable, busy.Code);
        Assert.Equal("Server busy with other transfers", busy.PayloadText);
        Assert.NotNull(busy.MaxAge);
        Assert.Equal(128, layer.ReassemblyBytes);
    }

    [Fact]
    public async Task RestartAtNumZero_WithACorrectedContentFormat_StartsAfresh()
    {
        // A client sent its first block with the wrong Content-Format and starts over with the right one, the same bytes:
        // RFC 7959 §2.5, a new NUM=0 "simply overwrites the context the server may still be keeping".
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var body = Body(100);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1).WithContentFormat(CoapContentFormat.TextPlain))).Code);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1))).Code);
        Assert.Equal(32, layer.ReassemblyBytes);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 1, 1))).Code);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 2, 1))).Code);
        Assert.Equal(CoapCode.Changed, (await Send(layer, endpoint, Block(body, 3, 1))).Code);

        var seen = Assert.Single(inner.Requests);
        Assert.Equal(CoapContentFormat.OctetStream, seen.ContentFormat);
        Assert.Equal(body, seen.Payload.ToArray());
    }

    [Fact]
    public async Task RestartAtNumZero_WithoutContentFormat_DropsTheFirstAttemptsFormat()
    {
        // The other way round: the corrected first block carries no Content-Format, and the transfer is without one.
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var body = Body(64);

        await Send(layer, endpoint, Block(body, 0, 1));
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 1).WithoutOption(CoapOptionNumber.ContentFormat))).Code);
        Assert.Equal(CoapCode.Changed, (await Send(layer, endpoint, Block(body, 1, 1).WithoutOption(CoapOptionNumber.ContentFormat))).Code);
        Assert.Null(Assert.Single(inner.Requests).ContentFormat);
    }
}
