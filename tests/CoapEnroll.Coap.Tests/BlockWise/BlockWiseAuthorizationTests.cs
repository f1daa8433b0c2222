using System.Net;
using static CoapEnroll.Coap.Tests.BlockWise.BlockWiseTestData;

namespace CoapEnroll.Coap.Tests.BlockWise;

/// <summary>
/// The authorization phase runs before a body is held: a request the server cannot serve (no resource, no such method, or a
/// resource's RequireAuthorization check refusing it) is answered at its first Block1 block, with nothing reassembled.
/// </summary>
public class BlockWiseAuthorizationTests
{
    private static readonly object s_who = new();

    /// <summary>A server with /open (anyone) and /closed (only peers the test lets in), and the layer it built.</summary>
    private sealed class Server : IAsyncDisposable
    {
        private readonly CoapServer _server = new();
        private readonly List<CoapRequestContext> _checked = [];

        public Server()
        {
            _server.MapPost("/open", (ctx, _) => ValueTask.FromResult(Echo(ctx)));
            _server.MapPost("/closed", (ctx, _) => ValueTask.FromResult(Echo(ctx)))
                .RequireAuthorization((ctx, _) =>
                {
                    lock (_checked)
                    {
                        _checked.Add(ctx);
                    }

                    if (!Admit(ctx.RemoteEndPoint))
                    {
                        return ValueTask.FromResult<CoapMessage?>(new CoapMessage { Code = CoapCode.Unauthorized }.WithPayload("who are you?"));
                    }

                    ctx.Items[s_who] = "checked " + ctx.RemoteEndPoint;
                    return ValueTask.FromResult<CoapMessage?>(null);
                });
            Endpoint = _server.Listen(new NullDatagramChannel());
            Layer = _server.BlockWise!;
        }

        public Func<EndPoint, bool> Admit { get; set; } = _ => false;

        public CoapEndpoint Endpoint { get; }

        public CoapBlockWiseLayer Layer { get; }

        public int Checks
        {
            get
            {
                lock (_checked)
                {
                    return _checked.Count;
                }
            }
        }

        public Task<CoapMessage> SendAsync(CoapMessage request, EndPoint? peer = null)
            => Layer.HandleAsync(new CoapRequestContext(request, peer ?? Peer(), Endpoint), CancellationToken.None).AsTask();

        public ValueTask DisposeAsync() => _server.DisposeAsync();

        private static CoapMessage Echo(CoapRequestContext ctx) =>
            new CoapMessage { Code = CoapCode.Changed }.WithPayload($"{ctx.Request.Payload.Length} bytes, {(ctx.Items.TryGetValue(s_who, out object? who) ? who : "unchecked")}");
    }

    [Fact]
    public async Task ARefusedPeer_IsAnsweredAtTheFirstBlock_WithNothingHeld()
    {
        await using var server = new Server();
        var body = Body(1850);

        var refused = await server.SendAsync(Block(body, 0, 6, "/closed"));
        Assert.Equal((CoapCode.Unauthorized, "who are you?"), (refused.Code, refused.PayloadText));
        Assert.Equal(0, server.Layer.ReassemblyBytes);
        Assert.Equal(0, server.Layer.ReassemblyCount);
        Assert.Equal((0, 0), server.Layer.ReassemblyHolders);

        // Nothing was started, so the rest of the body has nothing to join.
        Assert.Equal(CoapCode.RequestEntityIncomplete, (await server.SendAsync(Block(body, 1, 6, "/closed"))).Code);
    }

    [Fact]
    public async Task AnAdmittedPeer_IsCheckedOnceForItsTransfer_AndItsBodyIsHeldUntilTheEnd()
    {
        await using var server = new Server { Admit = _ => true };
        var body = Body(2500);

        Assert.Equal(CoapCode.Continue, (await server.SendAsync(Block(body, 0, 6, "/closed"))).Code);
        Assert.Equal(1024, server.Layer.ReassemblyBytes);
        Assert.Equal(CoapCode.Continue, (await server.SendAsync(Block(body, 1, 6, "/closed"))).Code);
        var done = await server.SendAsync(Block(body, 2, 6, "/closed"));

        // The handler of a longer transfer runs with its last block's context, which the check did not see.
        Assert.Equal((CoapCode.Changed, "2500 bytes, unchecked"), (done.Code, done.PayloadText));
        Assert.Equal(1, server.Checks);
        Assert.Equal(0, server.Layer.ReassemblyBytes);
    }

    [Fact]
    public async Task ARequestInOneMessage_IsCheckedBeforeTheHandler_WhichSeesWhatTheCheckLeft()
    {
        await using var server = new Server();
        var whole = CoapMessage.CreateRequest(CoapCode.Post, "/closed").WithPayload("csr");

        var refused = await server.SendAsync(whole);
        Assert.Equal((CoapCode.Unauthorized, "who are you?"), (refused.Code, refused.PayloadText));

        server.Admit = _ => true;
        var served = await server.SendAsync(whole);
        Assert.Equal($"3 bytes, checked {Peer()}", served.PayloadText);

        // So does the handler of a body that came in one block with Block1 (NUM=0, M=0).
        var single = await server.SendAsync(Block(Body(100), 0, 6, "/closed"));
        Assert.Equal((CoapCode.Changed, $"100 bytes, checked {Peer()}"), (single.Code, single.PayloadText));
        Assert.Equal(3, server.Checks);
    }

    [Fact]
    public async Task ARestartAtNumZero_IsCheckedAgain_AndItsRefusalDropsWhatTheFirstAttemptHeld()
    {
        await using var server = new Server { Admit = _ => true };
        var body = Body(4096);
        await server.SendAsync(Block(body, 0, 6, "/closed"));
        await server.SendAsync(Block(body, 1, 6, "/closed"));
        Assert.Equal(2048, server.Layer.ReassemblyBytes);

        server.Admit = _ => false;
        Assert.Equal(CoapCode.Unauthorized, (await server.SendAsync(Block(body, 0, 6, "/closed"))).Code);
        Assert.Equal(0, server.Layer.ReassemblyBytes);
        Assert.Equal(0, server.Layer.ReassemblyCount);
    }

    [Fact]
    public async Task AResourceWithoutACheck_HoldsTheBodyOfAnyone()
    {
        await using var server = new Server();
        Assert.Equal(CoapCode.Continue, (await server.SendAsync(Block(Body(4096), 0, 6, "/open"))).Code);
        Assert.Equal(1024, server.Layer.ReassemblyBytes);
        Assert.Equal(0, server.Checks);
    }

    [Fact]
    public async Task NoSuchResourceOrMethod_IsAnsweredAtTheFirstBlock()
    {
        await using var server = new Server { Admit = _ => true };
        var body = Body(4096);

        Assert.Equal(CoapCode.NotFound, (await server.SendAsync(Block(body, 0, 6, "/nowhere"))).Code);
        var put = Block(body, 0, 6, "/open") with { Code = CoapCode.Put };
        Assert.Equal(CoapCode.MethodNotAllowed, (await server.SendAsync(put)).Code);
        Assert.Equal(0, server.Layer.ReassemblyBytes);
    }
}
