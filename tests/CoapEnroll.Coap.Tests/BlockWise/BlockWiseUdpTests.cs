using System.Net;
using System.Security.Cryptography;
using CoapEnroll.Transport;
using static CoapEnroll.Coap.Tests.BlockWise.BlockWiseTestData;

namespace CoapEnroll.Coap.Tests.BlockWise;

/// <summary>Client and server block-wise transfers end to end over UDP loopback.</summary>
public class BlockWiseUdpTests
{
    private static readonly byte[] s_big = Body(5000);

    private static CoapEndpointOptions FastEndpoint() => new()
    {
        AckTimeout = TimeSpan.FromMilliseconds(200),
        SeparateResponseDelay = TimeSpan.FromMilliseconds(100),
        ResponseTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>A server endpoint whose wire requests are recorded in front of the block-wise layer.</summary>
    private static (CoapEndpoint Endpoint, WireRecorder Wire, IPEndPoint Address) Serve(ICoapRequestHandler inner, CoapServerOptions? options = null)
    {
        var wire = new WireRecorder(new CoapBlockWiseLayer(inner, options ?? new CoapServerOptions()));
        var endpoint = new CoapEndpoint(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)), FastEndpoint());
        endpoint.Start(wire);
        return (endpoint, wire, (IPEndPoint)endpoint.LocalEndPoint);
    }

    private static CoapClient Client(IPEndPoint server, int? blockSize = null, int maxResponse = 16 * 1024 * 1024)
        => new(UdpDatagramChannel.BindEphemeralFor(server), new CoapClientOptions { BlockSize = blockSize, MaxResponseBodySize = maxResponse, Endpoint = FastEndpoint() });

    private static string Hash(ReadOnlyMemory<byte> data) => Convert.ToHexString(SHA256.HashData(data.Span));

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(64)]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    [InlineData(1024)]
    [InlineData(null)]
    public async Task Get_FiveKilobytes_AtEveryBlockSize_ArrivesWhole(int? blockSize)
    {
        var inner = new RecordingHandler(_ => new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.OctetStream).WithPayload(s_big));
        var (endpoint, wire, address) = Serve(inner);
        await using var _ = endpoint;
        await using var client = Client(address, blockSize);

        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/big"), address, CancellationToken.None);

        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Equal(s_big, response.Payload.ToArray());
        Assert.Null(response.Block2);
        Assert.Null(response.Size2);
        Assert.Equal(CoapContentFormat.OctetStream, response.ContentFormat);
        Assert.Equal(1, inner.Calls);

        int size = blockSize ?? 1024;
        var requests = wire.Requests;
        Assert.Equal((5000 + size - 1) / size, requests.Count);
        if (blockSize is null)
        {
            Assert.Null(requests[0].Block2);
        }
        else
        {
            // Early negotiation (§2.4): the first request already asks for the block size.
            Assert.Equal(new BlockOption(0, false, BlockOption.SizeToExponent(size)), requests[0].Block2);
        }

        Assert.All(requests.Skip(1).Select((r, i) => (r, i)), x => Assert.Equal(new BlockOption(x.i + 1, false, BlockOption.SizeToExponent(size)), x.r.Block2));
    }

    [Fact]
    public async Task Post_FourKilobytesIn16ByteBlocks_HandlerGetsTheBody()
    {
        var inner = new RecordingHandler(ctx => new CoapMessage { Code = CoapCode.Changed }.WithPayload(Hash(ctx.Request.Payload)));
        var (endpoint, wire, address) = Serve(inner);
        await using var _ = endpoint;
        await using var client = Client(address, blockSize: 16);
        var body = Body(4096);

        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/upload").WithPayload(body), address, CancellationToken.None);

        Assert.Equal(CoapCode.Changed, response.Code);
        Assert.Equal(Hash(body), response.PayloadText);
        // 256 Block1 blocks; the 64-character answer then comes in four 16-byte Block2 blocks, as the
        // final block asked for that size (early negotiation, §3.3 Figure 11).
        var requests = wire.Requests;
        Assert.Equal(256 + 3, requests.Count);
        Assert.All(requests.Take(256).Select((r, i) => (r, i)), x =>
        {
            Assert.Equal(new BlockOption(x.i, x.i < 255, 0), x.r.Block1);
            Assert.Equal(4096u, x.r.Size1);
            Assert.Null(x.r.RequestTag);
        });
        Assert.Equal(new BlockOption(0, false, 0), requests[255].Block2);
        Assert.All(requests.Skip(256).Select((r, i) => (r, i)), x =>
        {
            Assert.Null(x.r.Block1);
            Assert.Equal(new BlockOption(x.i + 1, false, 0), x.r.Block2);
        });
        Assert.Equal(0, client.RequestTags.InUse(address));
    }

    [Fact]
    public async Task Post_ServerAsksForSmallerBlocks_ClientFollows()
    {
        var inner = new RecordingHandler(ctx => new CoapMessage { Code = CoapCode.Changed }.WithPayload(Hash(ctx.Request.Payload)));
        var (endpoint, wire, address) = Serve(inner, new CoapServerOptions { PreferredBlockSize = 64 });
        await using var _ = endpoint;
        await using var client = Client(address);
        var body = Body(3000);

        // 3000 bytes do not fit one 1152-byte datagram: Block1 at 1024, then at the server's 64 (§2.5, Figure 9).
        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/upload").WithPayload(body), address, CancellationToken.None);

        Assert.Equal(Hash(body), response.PayloadText);
        var requests = wire.Requests;
        Assert.Equal(new BlockOption(0, true, 6), requests[0].Block1);
        Assert.Equal(new BlockOption(16, true, 2), requests[1].Block1);
        Assert.Equal(1 + ((3000 - 1024 + 63) / 64), requests.Count);
    }

    [Fact]
    public async Task Post_SmallBodyFitsOneMessage_GoesWithoutBlock1()
    {
        var inner = new RecordingHandler(ctx => new CoapMessage { Code = CoapCode.Changed }.WithPayload(Hash(ctx.Request.Payload)));
        var (endpoint, wire, address) = Serve(inner);
        await using var _ = endpoint;
        await using var client = Client(address);
        var body = Body(1000);

        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/upload").WithPayload(body), address, CancellationToken.None);
        Assert.Equal(Hash(body), response.PayloadText);
        Assert.Null(Assert.Single(wire.Requests).Block1);
    }

    [Fact]
    public async Task Post_BodyOverTheServersLimit_Gets413WithSize1()
    {
        var inner = new RecordingHandler(_ => new CoapMessage { Code = CoapCode.Changed });
        var (endpoint, _, address) = Serve(inner, new CoapServerOptions { MaxRequestBodySize = 2000 });
        await using var _ = endpoint;
        await using var client = Client(address, blockSize: 256);

        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/upload").WithPayload(Body(3000)), address, CancellationToken.None);
        Assert.Equal(CoapCode.RequestEntityTooLarge, response.Code);
        Assert.Equal(2000u, response.Size1);
        Assert.Equal(0, inner.Calls);
    }

    [Fact]
    public async Task Post_LargeBodyAndLargeAnswer_Block1ThenBlock2InOneOperation()
    {
        var answer = Body(3000, 3);
        var inner = new RecordingHandler(ctx => new CoapMessage { Code = CoapCode.Changed }.WithPayload(answer));
        var (endpoint, wire, address) = Serve(inner);
        await using var _ = endpoint;
        await using var client = Client(address, blockSize: 128);
        var body = Body(1000);

        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/soap").WithPayload(body), address, CancellationToken.None);

        Assert.Equal(CoapCode.Changed, response.Code);
        Assert.Equal(answer, response.Payload.ToArray());
        Assert.Null(response.Block2);
        Assert.Equal(body, Assert.Single(inner.Requests).Payload.ToArray());

        var requests = wire.Requests;
        int blocks1 = (1000 + 127) / 128;
        var final = requests[blocks1 - 1];
        Assert.Equal(new BlockOption(blocks1 - 1, false, 3), final.Block1);
        Assert.Equal(new BlockOption(0, false, 3), final.Block2);
        var continuations = requests.Skip(blocks1).ToList();
        Assert.Equal((3000 + 127) / 128 - 1, continuations.Count);
        Assert.All(continuations, r =>
        {
            Assert.Equal(CoapCode.Post, r.Code);
            Assert.Null(r.Block1);
            Assert.True(r.Payload.IsEmpty);
        });
    }

    [Fact]
    public async Task ConcurrentBlock1Transfers_ToOneResource_AreReassembledApartWithRequestTag()
    {
        var inner = new RecordingHandler(ctx => new CoapMessage { Code = CoapCode.Changed }.WithPayload(Hash(ctx.Request.Payload)));
        var (endpoint, wire, address) = Serve(inner);
        await using var _ = endpoint;
        await using var client = Client(address, blockSize: 64);
        var a = Body(2000, 1);
        var b = Body(3000, 2);

        var sendA = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/upload").WithPayload(a), address, CancellationToken.None);
        var sendB = client.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/upload").WithPayload(b), address, CancellationToken.None);
        var responses = await Task.WhenAll(sendA, sendB);

        Assert.Equal(Hash(a), responses[0].PayloadText);
        Assert.Equal(Hash(b), responses[1].PayloadText);
        Assert.Equal(2, inner.Calls);

        // One operation went untagged, the other with a tag of its own (RFC 9175 §3.5.2), and they interleaved.
        var requests = wire.Requests;
        var tagged = requests.Where(r => r.RequestTag is not null).ToList();
        var untagged = requests.Where(r => r.RequestTag is null).ToList();
        Assert.Equal(new[] { 32, 47 }, new[] { tagged.Count, untagged.Count }.Order().ToArray());
        Assert.Single(tagged.Select(r => Convert.ToHexString(r.RequestTag!.Value.Span)).Distinct());
        int firstTagged = requests.ToList().FindIndex(r => r.RequestTag is not null);
        int lastUntagged = requests.ToList().FindLastIndex(r => r.RequestTag is null);
        Assert.True(firstTagged < lastUntagged, "the two transfers did not overlap");
        Assert.Equal(0, client.RequestTags.InUse(address));
    }

    [Fact]
    public async Task ThroughCoapServer_BlockWiseIsInThePipeline()
    {
        await using var server = new CoapServer(new CoapServerOptions { Endpoint = FastEndpoint() });
        server.MapGet("/big", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }.WithPayload(s_big)));
        server.MapPut("/big", (ctx, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Changed }.WithPayload(Hash(ctx.Request.Payload))));
        var address = (IPEndPoint)server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0))).LocalEndPoint;
        await using var client = Client(address);

        var get = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/big"), address, CancellationToken.None);
        Assert.Equal(s_big, get.Payload.ToArray());
        var put = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Put, "/big").WithPayload(s_big), address, CancellationToken.None);
        Assert.Equal(Hash(s_big), put.PayloadText);
    }

    // ---- client against a server that slices by hand (no caching, changing representations) ----

    /// <summary>Serves GET/POST bodies in 64-byte Block2 blocks with an ETag per representation, as the test dictates.</summary>
    private sealed class ManualBlock2Handler(Func<int, int> versionForCall) : ICoapRequestHandler
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, CancellationToken cancellationToken)
        {
            int version = versionForCall(Interlocked.Increment(ref _calls));
            var body = Body(1000, version);
            var requested = context.Request.Block2 ?? new BlockOption(0, false, 2);
            int offset = requested.Offset;
            int count = Math.Min(requested.Size, body.Length - offset);
            var response = new CoapMessage { Code = CoapCode.Content }
                .SetOption(new CoapOption(CoapOptionNumber.ETag, new[] { (byte)version }))
                .WithBlock2(new BlockOption(requested.Number, offset + count < body.Length, requested.SizeExponent))
                .WithPayload(body.AsMemory(offset, count));
            return ValueTask.FromResult(response);
        }
    }

    private static (CoapEndpoint Endpoint, IPEndPoint Address) ServeRaw(ICoapRequestHandler handler)
    {
        var endpoint = new CoapEndpoint(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)), FastEndpoint());
        endpoint.Start(handler);
        return (endpoint, (IPEndPoint)endpoint.LocalEndPoint);
    }

    [Fact]
    public async Task Get_RepresentationChangesOnce_ClientStartsOverAndGetsOneConsistentBody()
    {
        // Calls 1-2 see version 1 (block 0 and 1), then the resource changes to version 2 for good.
        var handler = new ManualBlock2Handler(call => call <= 2 ? 1 : 2);
        var (endpoint, address) = ServeRaw(handler);
        await using var _ = endpoint;
        await using var client = Client(address);

        var response = await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/r"), address, CancellationToken.None);
        Assert.Equal(Body(1000, 2), response.Payload.ToArray());
        Assert.Equal(new byte[] { 2 }, response.ETag!.Value.ToArray());
        Assert.Equal(3 + 16, handler.Calls);
    }

    [Fact]
    public async Task Get_RepresentationKeepsChanging_ClientGivesUp()
    {
        var handler = new ManualBlock2Handler(call => call);
        var (endpoint, address) = ServeRaw(handler);
        await using var _ = endpoint;
        await using var client = Client(address);

        var ex = await Assert.ThrowsAsync<CoapProtocolException>(() => client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/r"), address, CancellationToken.None));
        Assert.Equal(CoapError.BlockTransfer, ex.Error);
        Assert.Equal(6, handler.Calls);
    }

    [Fact]
    public async Task Post_RepresentationChanges_ClientFailsWithoutRepeatingThePost()
    {
        var handler = new ManualBlock2Handler(call => call);
        var (endpoint, address) = ServeRaw(handler);
        await using var _ = endpoint;
        await using var client = Client(address);

        var ex = await Assert.ThrowsAsync<CoapProtocolException>(() => client.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/r").WithPayload("x"), address, CancellationToken.None));
        Assert.Equal(CoapError.BlockTransfer, ex.Error);
        Assert.Equal(2, handler.Calls);
    }

    [Fact]
    public async Task ResponseLargerThanMaxResponseBodySize_Fails()
    {
        var handler = new ManualBlock2Handler(_ => 1);
        var (endpoint, address) = ServeRaw(handler);
        await using var _ = endpoint;
        await using var client = Client(address, maxResponse: 500);

        var ex = await Assert.ThrowsAsync<CoapProtocolException>(() => client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/r"), address, CancellationToken.None));
        Assert.Equal(CoapError.BlockTransfer, ex.Error);
        Assert.Equal(8, handler.Calls);

        // With Size2 the client refuses at the first block.
        var inner = new RecordingHandler(_ => new CoapMessage { Code = CoapCode.Content }.WithPayload(s_big));
        var (server, _, serverAddress) = Serve(inner);
        await using var __ = server;
        await using var client2 = Client(serverAddress, maxResponse: 4000);
        var ex2 = await Assert.ThrowsAsync<CoapProtocolException>(() => client2.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/big"), serverAddress, CancellationToken.None));
        Assert.Contains("5000", ex2.Message);
    }
}
