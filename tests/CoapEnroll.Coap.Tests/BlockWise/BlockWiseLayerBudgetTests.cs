using System.Net;
using static CoapEnroll.Coap.Tests.BlockWise.BlockWiseTestData;

namespace CoapEnroll.Coap.Tests.BlockWise;

/// <summary>
/// The Block1 reassembly budget: per peer, per source address and in total, with a small share for unauthenticated peers
/// that never reaches into what authenticated sessions need; released when a transfer completes or expires.
/// </summary>
public class BlockWiseLayerBudgetTests
{
    private static readonly IPAddress s_host = IPAddress.Parse("192.0.2.1");

    private static RecordingHandler EchoLength() => new(ctx => new CoapMessage { Code = CoapCode.Changed }.WithPayload($"got {ctx.Request.Payload.Length}"));

    private static Task<CoapMessage> Send(CoapBlockWiseLayer layer, CoapEndpoint endpoint, CoapMessage request, EndPoint peer)
        => layer.HandleAsync(new CoapRequestContext(request, peer, endpoint), CancellationToken.None).AsTask();

    private static TestSession Device(string address, int port = 5684) => new(new IPEndPoint(IPAddress.Parse(address), port), validatedCertificate: true);

    /// <summary>Sends <paramref name="body"/> block by block at 1024 bytes; returns the final response, or the first that is not 2.31.</summary>
    private static async Task<CoapMessage> UploadAsync(CoapBlockWiseLayer layer, CoapEndpoint endpoint, byte[] body, EndPoint peer, string path = "/upload")
    {
        for (int num = 0; ; num++)
        {
            var response = await Send(layer, endpoint, Block(body, num, 6, path), peer);
            if (response.Code != CoapCode.Continue)
            {
                return response;
            }
        }
    }

    [Fact]
    public async Task OneHostOn300Ports_HoldsOneAddressShare_AndAnAuthenticatedSessionFromItStillUploads()
    {
        var inner = EchoLength();
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var unfinished = Body(64 * 1024);

        var codes = new List<CoapCode>();
        for (int port = 40000; port < 40300; port++)
        {
            // Unfinished 1024-byte transfers that announce nothing (no Size1), two blocks each where admitted.
            var first = await Send(layer, endpoint, Block(unfinished, 0, 6, size1: false), new IPEndPoint(s_host, port));
            codes.Add(first.Code);
            if (first.Code == CoapCode.Continue)
            {
                Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(unfinished, 1, 6, size1: false), new IPEndPoint(s_host, port))).Code);
            }
            else
            {
                Assert.Equal((CoapCode.ServiceUnavailable, "Too many block-wise transfers from this address"), (first.Code, first.PayloadText));
                Assert.InRange(first.MaxAge!.Value, 246u, 247u);
            }
        }

        // The whole host is one share: MaxUnauthenticatedTransfersPerAddress transfers, MaxUnauthenticatedReassemblyBytesPerAddress bytes.
        Assert.Equal(4, codes.Count(c => c == CoapCode.Continue));
        Assert.Equal(4 * 2048, layer.UnauthenticatedReassemblyBytes);
        Assert.Equal(4, layer.ReassemblyCount);

        // An authenticated session from the same host, and a stranger elsewhere, are not held to that host's share.
        var enrolled = await UploadAsync(layer, endpoint, Body(1850, 3), Device("192.0.2.1"));
        Assert.Equal((CoapCode.Changed, "got 1850"), (enrolled.Code, enrolled.PayloadText));
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(unfinished, 0, 6, size1: false), new IPEndPoint(IPAddress.Parse("192.0.2.2"), 40000))).Code);
    }

    [Fact]
    public async Task UnauthenticatedBytesPerAddress_Get503_AndASize1BeyondThemGets413()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions { MaxUnauthenticatedReassemblyBytesPerAddress = 3000 });
        await using var endpoint = DirectEndpoint();
        var body = Body(8192);

        // A body larger than the address's share can never be held: 4.13 at once.
        var tooLarge = await Send(layer, endpoint, Block(body, 0, 6), Peer(40000));
        Assert.Equal((CoapCode.RequestEntityTooLarge, "Too many request bytes held for this peer"), (tooLarge.Code, tooLarge.PayloadText));

        // Two ports of one host: the third block of the two together passes 3000 bytes, and waits (the transfer is kept).
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, size1: false), Peer(40001))).Code);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 1, 6, size1: false), Peer(40001))).Code);
        var busy = await Send(layer, endpoint, Block(body, 0, 6, size1: false, tag: [1]), Peer(40002));
        Assert.Equal((CoapCode.ServiceUnavailable, "Too many request bytes held for this address"), (busy.Code, busy.PayloadText));
        Assert.NotNull(busy.MaxAge);
        Assert.Equal(2048, layer.UnauthenticatedReassemblyBytes);

        // Another host is not affected.
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, size1: false), new IPEndPoint(IPAddress.Parse("192.0.2.2"), 40002))).Code);
    }

    [Fact]
    public async Task StrangersOnManyHosts_FillOnlyTheirShare_AndAuthenticatedSessionsHaveTheRest()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions
        {
            MaxReassemblyBytesTotal = 64 * 1024,
            MaxUnauthenticatedReassemblyBytesTotal = 8 * 1024,
            MaxUnauthenticatedReassemblyBytesPerAddress = 2048,
        });
        await using var endpoint = DirectEndpoint();
        var body = Body(4096);

        var refused = new List<CoapMessage>();
        for (int host = 1; host <= 10; host++)
        {
            var stranger = new IPEndPoint(IPAddress.Parse($"198.51.100.{host}"), 40000);
            for (int num = 0; num < 2; num++)
            {
                var response = await Send(layer, endpoint, Block(body, num, 6, size1: false), stranger);
                if (response.Code != CoapCode.Continue)
                {
                    refused.Add(response);
                    break;
                }
            }
        }

        Assert.Equal(8 * 1024, layer.UnauthenticatedReassemblyBytes);
        Assert.Equal(6, refused.Count);
        Assert.All(refused, r => Assert.Equal((CoapCode.ServiceUnavailable, "Server busy with transfers of unauthenticated peers"), (r.Code, r.PayloadText)));

        // 56 KiB remain for sessions that authenticated: one of them uploads 32 KiB.
        var upload = await UploadAsync(layer, endpoint, Body(32 * 1024, 5), Device("203.0.113.7"));
        Assert.Equal((CoapCode.Changed, "got 32768"), (upload.Code, upload.PayloadText));
    }

    [Fact]
    public async Task AuthenticatedSessionsOfOneHost_ShareItsAddressBound_OtherHostsDoNot()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions { MaxReassemblyBytesPerAddress = 4096 });
        await using var endpoint = DirectEndpoint();
        var body = Body(8192);
        var first = Device("203.0.113.1", 1);
        var second = Device("203.0.113.1", 2);

        for (int num = 0; num < 3; num++)
        {
            Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, num, 6, size1: false), first)).Code);
        }

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, size1: false), second)).Code);
        var busy = await Send(layer, endpoint, Block(body, 1, 6, size1: false), second);
        Assert.Equal((CoapCode.ServiceUnavailable, "Too many request bytes held for this address"), (busy.Code, busy.PayloadText));
        Assert.Equal(4096, layer.ReassemblyBytes);
        Assert.Equal(0, layer.UnauthenticatedReassemblyBytes);

        // The refused block did not end the transfer; another host is not held to this one's bound.
        Assert.Equal(2, layer.ReassemblyCount);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, size1: false), Device("203.0.113.2"))).Code);
    }

    [Fact]
    public async Task OnlyAValidatedCertificateOrAPskMakesASessionAuthenticated()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions());
        await using var endpoint = DirectEndpoint();
        var body = Body(4096);
        var peers = new (EndPoint Peer, bool Authenticated)[]
        {
            (new IPEndPoint(IPAddress.Parse("192.0.2.10"), 5683), false),
            (new TestSession(new IPEndPoint(IPAddress.Parse("192.0.2.11"), 1)), false),
            (new TestSession(new IPEndPoint(IPAddress.Parse("192.0.2.12"), 1), validatedCertificate: true, established: false), false),
            (new TestSession(new IPEndPoint(IPAddress.Parse("192.0.2.13"), 1), validatedCertificate: true), true),
            (new TestSession(new IPEndPoint(IPAddress.Parse("192.0.2.14"), 1), pskIdentity: [1, 2]), true),
        };

        long total = 0;
        long unauthenticated = 0;
        foreach (var (peer, authenticated) in peers)
        {
            Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6), peer)).Code);
            total += 1024;
            unauthenticated += authenticated ? 0 : 1024;
            Assert.Equal((total, unauthenticated), (layer.ReassemblyBytes, layer.UnauthenticatedReassemblyBytes));
        }
    }

    [Fact]
    public async Task SessionsOfAStranger_AreChargedToItsAddress_LikeItsPorts()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions { MaxUnauthenticatedTransfersPerAddress = 2 });
        await using var endpoint = DirectEndpoint();
        var body = Body(4096);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6), Peer(1))).Code);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6), new TestSession(Peer(2)))).Code);
        Assert.Equal(CoapCode.ServiceUnavailable, (await Send(layer, endpoint, Block(body, 0, 6), new TestSession(Peer(3)))).Code);
    }

    [Theory]
    [InlineData("2001:db8::1", "2001:db8::2", false)]
    [InlineData("2001:db8::1", "2001:db8:0:1::1", true)]
    [InlineData("::ffff:192.0.2.1", "192.0.2.1", false)]
    public async Task AnIPv6Slash64IsOneAddress_AndAMappedIPv4AddressIsItsIPv4Address(string first, string second, bool apart)
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions { MaxUnauthenticatedTransfersPerAddress = 1 });
        await using var endpoint = DirectEndpoint();
        var body = Body(4096);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6), new IPEndPoint(IPAddress.Parse(first), 1))).Code);
        var other = await Send(layer, endpoint, Block(body, 0, 6), new IPEndPoint(IPAddress.Parse(second), 2));
        Assert.Equal(apart ? CoapCode.Continue : CoapCode.ServiceUnavailable, other.Code);
    }

    [Fact]
    public async Task CompletionReleasesTheShare_AndSoDoesExpiry()
    {
        var time = new AdjustableTimeProvider();
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions { MaxUnauthenticatedTransfersPerAddress = 2, TransferLifetime = TimeSpan.FromSeconds(60) });
        await using var endpoint = DirectEndpoint(time);
        var body = Body(2048);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, "/a"), Peer(1))).Code);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, "/b"), Peer(2))).Code);
        var full = await Send(layer, endpoint, Block(body, 0, 6, "/c"), Peer(3));
        Assert.Equal(CoapCode.ServiceUnavailable, full.Code);

        // Max-Age: until the address's least recently active transfer (/a, idle for 10 s) expires.
        Assert.InRange(full.MaxAge!.Value, 49u, 51u);

        // Completing /a frees its place and its bytes.
        Assert.Equal(CoapCode.Changed, (await Send(layer, endpoint, Block(body, 1, 6, "/a"), Peer(1))).Code);
        Assert.Equal(1024, layer.ReassemblyBytes);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, "/c"), Peer(3))).Code);
        Assert.Equal(2048, layer.UnauthenticatedReassemblyBytes);

        // Past the lifetime both are forgotten: nothing held, no peer or address left behind, and the host's share is whole again.
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, "/d"), Peer(4))).Code);
        Assert.Equal(1024, layer.ReassemblyBytes);
        Assert.Equal((1, 1), layer.ReassemblyHolders);
        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, "/e"), Peer(5))).Code);

        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(CoapCode.RequestEntityIncomplete, (await Send(layer, endpoint, Block(body, 1, 6, "/d"), Peer(4))).Code);
        Assert.Equal(0, layer.ReassemblyBytes);
        Assert.Equal(0, layer.UnauthenticatedReassemblyBytes);
        Assert.Equal((0, 0), layer.ReassemblyHolders);
    }

    [Fact]
    public async Task ARefusedFirstBlock_LeavesNothingBehind()
    {
        var layer = new CoapBlockWiseLayer(EchoLength(), new CoapServerOptions { MaxUnauthenticatedReassemblyBytesPerAddress = 1024 });
        await using var endpoint = DirectEndpoint();
        var body = Body(4096);

        Assert.Equal(CoapCode.Continue, (await Send(layer, endpoint, Block(body, 0, 6, size1: false), Peer(1))).Code);
        Assert.Equal(CoapCode.ServiceUnavailable, (await Send(layer, endpoint, Block(body, 0, 6, size1: false), Peer(2))).Code);
        Assert.Equal(1, layer.ReassemblyCount);
        Assert.Equal((1, 1), layer.ReassemblyHolders);
    }

    [Theory]
    [InlineData(nameof(CoapServerOptions.MaxUnauthenticatedTransfersPerAddress), 0)]
    [InlineData(nameof(CoapServerOptions.MaxUnauthenticatedReassemblyBytesPerAddress), -1)]
    [InlineData(nameof(CoapServerOptions.MaxUnauthenticatedReassemblyBytesTotal), -1)]
    [InlineData(nameof(CoapServerOptions.MaxUnauthenticatedReassemblyBytesTotal), 64 * 1024 * 1024)]
    [InlineData(nameof(CoapServerOptions.MaxReassemblyBytesPerAddress), -1)]
    [InlineData(nameof(CoapServerOptions.MaxTransfersPerPeer), 0)]
    public void AnUnworkableBound_IsRefused_NamingItsKey(string name, int value)
    {
        var options = new CoapServerOptions();
        typeof(CoapServerOptions).GetProperty(name)!.SetValue(options, value);
        var ex = Assert.Throws<ArgumentException>(() => new CoapServer(options));
        Assert.StartsWith($"Coap:{name} must be", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheShippedBounds_AreValid()
    {
        var options = new CoapServerOptions();
        options.ValidateBlockWise();
        Assert.True(options.MaxUnauthenticatedReassemblyBytesTotal < options.MaxReassemblyBytesTotal);
    }
}
