using System.Net;
using static CoapEnroll.Coap.Tests.BlockWise.BlockWiseTestData;

namespace CoapEnroll.Coap.Tests.BlockWise;

/// <summary>The server layer's Block2 side, driven with crafted requests (RFC 7959 §2.4, §4).</summary>
public class BlockWiseLayerBlock2Tests
{
    private static readonly byte[] s_body = Body(5000);

    private static (CoapBlockWiseLayer Layer, RecordingHandler Inner) Create(CoapServerOptions? options = null, byte[]? body = null)
    {
        var inner = new RecordingHandler(_ => new CoapMessage { Code = CoapCode.Content }
            .WithContentFormat(CoapContentFormat.OctetStream).WithPayload(body ?? s_body));
        return (new CoapBlockWiseLayer(inner, options ?? new CoapServerOptions()), inner);
    }

    private static Task<CoapMessage> Send(CoapBlockWiseLayer layer, CoapEndpoint endpoint, CoapMessage request, EndPoint? peer = null)
        => layer.HandleAsync(new CoapRequestContext(request, peer ?? Peer(), endpoint), CancellationToken.None).AsTask();

    private static CoapMessage Get(int? num = null, int szx = 6)
    {
        var request = CoapMessage.CreateRequest(CoapCode.Get, "/big");
        return num is { } n ? request.WithBlock2(new BlockOption(n, false, szx)) : request;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task EarlyNegotiation_EverySzx_ServesTheWholeBodyFromOneHandlerRun(int szx)
    {
        var (layer, inner) = Create();
        await using var endpoint = DirectEndpoint();
        int size = 16 << szx;
        var received = new List<byte>();
        byte[]? etag = null;
        for (int num = 0; ; num++)
        {
            var response = await Send(layer, endpoint, Get(num, szx));
            Assert.Equal(CoapCode.Content, response.Code);
            var block = Assert.NotNull(response.Block2);
            Assert.Equal(num, block.Number);
            Assert.Equal(szx, block.SizeExponent);
            Assert.Equal(CoapContentFormat.OctetStream, response.ContentFormat);
            if (num == 0)
            {
                Assert.Equal(5000u, response.Size2);
                etag = Assert.NotNull(response.ETag).ToArray();
            }
            else
            {
                Assert.Null(response.Size2);
                Assert.Equal(etag, Assert.NotNull(response.ETag).ToArray());
            }

            received.AddRange(response.Payload.ToArray());
            if (!block.More)
            {
                Assert.InRange(response.Payload.Length, 1, size);
                break;
            }

            Assert.Equal(size, response.Payload.Length);
        }

        Assert.Equal(s_body, received.ToArray());
        Assert.Equal(1, inner.Calls);
        Assert.Equal(0, layer.CachedResponseCount);
        Assert.All(inner.Requests, r => Assert.False(r.Options.Contains(CoapOptionNumber.Block2)));
    }

    [Fact]
    public async Task NoBlock2InRequest_LargeBody_FirstBlockIsTheLargestThatFitsTheDatagram()
    {
        var (layer, _) = Create();
        await using var endpoint = DirectEndpoint();
        var response = await Send(layer, endpoint, Get());

        Assert.Equal(new BlockOption(0, true, 6), response.Block2);
        Assert.Equal(1024, response.Payload.Length);
        Assert.Equal(5000u, response.Size2);
        Assert.True(CoapMessageEncoder.GetEncodedLength(response with { Token = new byte[8] }) <= endpoint.MaxMessageSize);

        // A small datagram limit (say a DTLS record over a constrained link) lowers the block size.
        await using var small = DirectEndpoint(maxDatagramSize: 320);
        var constrained = await Send(layer, small, Get());
        Assert.Equal(new BlockOption(0, true, 4), constrained.Block2);
        Assert.True(CoapMessageEncoder.GetEncodedLength(constrained with { Token = new byte[8] }) <= 320);
    }

    [Fact]
    public async Task SmallBody_WithoutBlock2Request_IsUnchanged_AndWithBlock2Request_IsOneFinalBlock()
    {
        var (layer, _) = Create(body: Body(100));
        await using var endpoint = DirectEndpoint();

        var plain = await Send(layer, endpoint, Get());
        Assert.Null(plain.Block2);
        Assert.Null(plain.ETag);
        Assert.Equal(100, plain.Payload.Length);

        var asked = await Send(layer, endpoint, Get(0, 4));
        Assert.Equal(new BlockOption(0, false, 4), asked.Block2);
        Assert.Equal(100, asked.Payload.Length);
        Assert.Equal(0, layer.CachedResponseCount);
    }

    [Fact]
    public async Task LateNegotiation_SmallerSzxForLaterBlocks_CountsTheOffsetInTheNewSize()
    {
        // RFC 7959 Figure 4: block 0 came at 1024 bytes; the client continues at 64 with NUM=16 (byte 1024).
        var (layer, inner) = Create();
        await using var endpoint = DirectEndpoint();
        var first = await Send(layer, endpoint, Get());
        Assert.Equal(1024, first.Payload.Length);

        var next = await Send(layer, endpoint, Get(16, 2));
        Assert.Equal(new BlockOption(16, true, 2), next.Block2);
        Assert.Equal(s_body.AsSpan(1024, 64).ToArray(), next.Payload.ToArray());
        Assert.Equal(first.ETag!.Value.ToArray(), next.ETag!.Value.ToArray());

        var last = await Send(layer, endpoint, Get(78, 2));
        Assert.Equal(new BlockOption(78, false, 2), last.Block2);
        Assert.Equal(s_body.AsSpan(4992).ToArray(), last.Payload.ToArray());
        Assert.Equal(1, inner.Calls);
    }

    [Fact]
    public async Task ClientAsksForLargerBlocksThanTheServerServes_GetsTheServersSizeRenumbered()
    {
        var (layer, inner) = Create(new CoapServerOptions { PreferredBlockSize = 256 });
        await using var endpoint = DirectEndpoint();

        var first = await Send(layer, endpoint, Get(0, 6));
        Assert.Equal(new BlockOption(0, true, 4), first.Block2);
        Assert.Equal(256, first.Payload.Length);

        // NUM=1 at 1024 is byte 1024; served as NUM=4 at 256 (§2.4: the server uses the smaller size).
        var second = await Send(layer, endpoint, Get(1, 6));
        Assert.Equal(new BlockOption(4, true, 4), second.Block2);
        Assert.Equal(s_body.AsSpan(1024, 256).ToArray(), second.Payload.ToArray());
        Assert.Equal(1, inner.Calls);
    }

    [Fact]
    public async Task PreferredBlockSizeThatIsNoPowerOfTwo_RoundsDown()
    {
        var (layer, _) = Create(new CoapServerOptions { PreferredBlockSize = 700 });
        await using var endpoint = DirectEndpoint();
        var response = await Send(layer, endpoint, Get());
        Assert.Equal(new BlockOption(0, true, 5), response.Block2);
    }

    [Fact]
    public async Task BlockBeyondTheEnd_Gets402()
    {
        var (layer, _) = Create();
        await using var endpoint = DirectEndpoint();
        await Send(layer, endpoint, Get(0, 6));
        var response = await Send(layer, endpoint, Get(5, 6));
        Assert.Equal(CoapCode.BadOption, response.Code);
        Assert.Null(response.Block2);
    }

    [Fact]
    public async Task ReservedSzx7_Gets400()
    {
        var (layer, inner) = Create();
        await using var endpoint = DirectEndpoint();
        var request = Get().SetUInt(CoapOptionNumber.Block2, 0x17);
        var response = await Send(layer, endpoint, request);
        Assert.Equal(CoapCode.BadRequest, response.Code);
        Assert.Equal(0, inner.Calls);
    }

    [Fact]
    public async Task SizeRequest_Size2ZeroInRequest_GetsSize2OnLaterBlocksToo()
    {
        var (layer, _) = Create();
        await using var endpoint = DirectEndpoint();
        await Send(layer, endpoint, Get(0, 4));
        var response = await Send(layer, endpoint, Get(3, 4).SetUInt(CoapOptionNumber.Size2, 0));
        Assert.Equal(5000u, response.Size2);
    }

    [Fact]
    public async Task NonIdempotentPost_LaterBlocksComeFromTheCache_AndWithoutCacheGet408()
    {
        int version = 0;
        var inner = new RecordingHandler(_ => new CoapMessage { Code = CoapCode.Changed }.WithPayload(Body(3000, ++version)));
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var post = CoapMessage.CreateRequest(CoapCode.Post, "/do").WithPayload("x");

        var first = await Send(layer, endpoint, post);
        Assert.Equal(new BlockOption(0, true, 6), first.Block2);
        var received = first.Payload.ToArray().Concat((await Send(layer, endpoint, post.WithPayload(ReadOnlyMemory<byte>.Empty).WithBlock2(new BlockOption(1, false, 6)))).Payload.ToArray());
        var last = await Send(layer, endpoint, post.WithPayload(ReadOnlyMemory<byte>.Empty).WithBlock2(new BlockOption(2, false, 6)));
        Assert.False(last.Block2!.Value.More);
        Assert.Equal(Body(3000, 1), received.Concat(last.Payload.ToArray()).ToArray());
        Assert.Equal(1, inner.Calls);

        // Another peer never started this operation: running the POST again per block would repeat its effect.
        var stranger = await Send(layer, endpoint, post.WithBlock2(new BlockOption(1, false, 6)), Peer(40001));
        Assert.Equal(CoapCode.RequestEntityIncomplete, stranger.Code);
        Assert.Equal(1, inner.Calls);
    }

    [Fact]
    public async Task Get_AfterTheCachedBodyExpired_RunsTheHandlerAgainForALaterBlock()
    {
        var time = new AdjustableTimeProvider();
        var (layer, inner) = Create(new CoapServerOptions { TransferLifetime = TimeSpan.FromSeconds(30) });
        await using var endpoint = DirectEndpoint(time);

        await Send(layer, endpoint, Get(0, 6));
        await Send(layer, endpoint, Get(1, 6));
        Assert.Equal(1, inner.Calls);
        Assert.Equal(1, layer.CachedResponseCount);

        time.Advance(TimeSpan.FromSeconds(31));
        var response = await Send(layer, endpoint, Get(2, 6));
        Assert.Equal(2, inner.Calls);
        Assert.Equal(s_body.AsSpan(2048, 1024).ToArray(), response.Payload.ToArray());
    }

    [Fact]
    public async Task ChangedRepresentation_GetsADifferentETag()
    {
        int version = 0;
        var inner = new RecordingHandler(_ => new CoapMessage { Code = CoapCode.Content }.WithPayload(Body(2000, ++version)));
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();

        var a = await Send(layer, endpoint, Get(0, 6));
        var b = await Send(layer, endpoint, Get(0, 6));
        Assert.Equal(2, inner.Calls);
        Assert.NotEqual(a.ETag!.Value.ToArray(), b.ETag!.Value.ToArray());
    }

    [Fact]
    public async Task HandlersOwnETag_IsKept()
    {
        var inner = new RecordingHandler(_ => new CoapMessage { Code = CoapCode.Content }
            .SetOption(new CoapOption(CoapOptionNumber.ETag, new byte[] { 1, 2, 3 })).WithPayload(Body(2000)));
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var response = await Send(layer, endpoint, Get());
        Assert.Equal(new byte[] { 1, 2, 3 }, response.ETag!.Value.ToArray());
    }

    [Fact]
    public async Task CachedBodiesPerPeer_AreBoundedByMaxTransfersPerPeer_OldestEvicted()
    {
        var inner = new RecordingHandler(ctx => new CoapMessage { Code = CoapCode.Changed }.WithPayload(Body(2000, ctx.Request.UriPath.Length)));
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions { MaxTransfersPerPeer = 2 });
        await using var endpoint = DirectEndpoint();

        foreach (var path in new[] { "/a", "/bb", "/ccc" })
        {
            await Send(layer, endpoint, CoapMessage.CreateRequest(CoapCode.Post, path));
        }

        Assert.Equal(2, layer.CachedResponseCount);
        var evicted = await Send(layer, endpoint, CoapMessage.CreateRequest(CoapCode.Post, "/a").WithBlock2(new BlockOption(1, false, 6)));
        Assert.Equal(CoapCode.RequestEntityIncomplete, evicted.Code);
        var kept = await Send(layer, endpoint, CoapMessage.CreateRequest(CoapCode.Post, "/ccc").WithBlock2(new BlockOption(1, false, 6)));
        Assert.Equal(Body(2000, 3).AsSpan(1024).ToArray(), kept.Payload.ToArray());
        Assert.Equal(3, inner.Calls);
    }

    [Fact]
    public async Task RequestedBlockSize_IsPassedToTheInnerHandler()
    {
        object? seen = null;
        var inner = new RecordingHandler(ctx =>
        {
            ctx.Items.TryGetValue(CoapBlockWiseLayer.RequestedBlockSizeKey, out seen);
            return new CoapMessage { Code = CoapCode.Content };
        });
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        await Send(layer, endpoint, Get(0, 2));
        Assert.Equal(64, seen);
    }
}
