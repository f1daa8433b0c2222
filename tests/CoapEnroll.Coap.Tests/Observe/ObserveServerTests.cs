using System.Net;

namespace CoapEnroll.Coap.Tests.Observe;

public class ObserveServerTests
{
    private static readonly byte[] TokenA = [0xA1, 0xA2, 0xA3, 0xA4];
    private static readonly byte[] TokenB = [0xB1, 0xB2, 0xB3, 0xB4];
    private static readonly byte[] TokenC = [0xC1, 0xC2, 0xC3, 0xC4];

    [Fact]
    public async Task Register_ThenNotifications_CarryIncreasingSequenceAndNewestState()
    {
        await using var server = new ObserveTestServer();
        await using var peer = RawCoapPeer.Create(server.Address);

        var response = await peer.RequestAsync(ObserveTestServer.Register(TokenA));
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.NotNull(response.Observe);
        Assert.Equal(1, server.Resource.ObserverCount);

        uint previous = response.Observe.Value;
        for (int i = 1; i <= 20; i++)
        {
            server.State = i;
            Assert.Equal(1, server.Resource.NotifyObservers());
            var notification = await peer.ReceiveAsync();
            Assert.Equal(CoapMessageType.NonConfirmable, notification.Type);
            Assert.Equal(CoapCode.Content, notification.Code);
            Assert.Equal(TokenA, notification.Token.ToArray());
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), notification.PayloadText);
            Assert.True(ObserveSequence.IsNewer(notification.Observe!.Value, previous), $"{notification.Observe} after {previous}");
            Assert.NotEqual(response.MessageId, notification.MessageId);
            previous = notification.Observe.Value;
        }

        // The message IDs kept for matching Resets stay bounded per observer.
        Assert.InRange(server.Server.ObserveLayer.RememberedNotificationCount, 1, ObserveRegistration.RememberedMessageIds);
    }

    [Fact]
    public async Task NotifyByPath_ReachesOnlyObserversOfThatPath()
    {
        await using var server = new ObserveTestServer();
        server.Server.MapGet("/items/{id}", (ctx, _) => ValueTask.FromResult(
            new CoapMessage { Code = CoapCode.Content }.WithPayload(ctx.RouteValues["id"]))).Observable();
        await using var one = RawCoapPeer.Create(server.Address);
        await using var two = RawCoapPeer.Create(server.Address);
        Assert.NotNull((await one.RequestAsync(ObserveTestServer.Request("/items/1", TokenA))).Observe);
        Assert.NotNull((await two.RequestAsync(ObserveTestServer.Request("/items/2", TokenB))).Observe);

        Assert.Equal(1, server.Server.NotifyObservers("/items/2"));
        Assert.Equal("2", (await two.ReceiveAsync()).PayloadText);
        Assert.Null(await one.TryReceiveAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task DeregisterWithObserve1_RemovesObserver_AndAnswersWithoutObserve()
    {
        await using var server = new ObserveTestServer();
        await using var peer = RawCoapPeer.Create(server.Address);
        Assert.NotNull((await peer.RequestAsync(ObserveTestServer.Register(TokenA))).Observe);
        Assert.Equal(1, server.Resource.ObserverCount);

        var response = await peer.RequestAsync(ObserveTestServer.Register(TokenA, observe: 1));
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Null(response.Observe);
        Assert.Equal(0, server.Resource.ObserverCount);
        Assert.Equal(0, server.Resource.NotifyObservers());
        Assert.Null(await peer.TryReceiveAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task ReRegistration_SamePeerAndToken_ReplacesEntryAndKeepsSequenceIncreasing()
    {
        await using var server = new ObserveTestServer();
        await using var peer = RawCoapPeer.Create(server.Address);
        var first = await peer.RequestAsync(ObserveTestServer.Register(TokenA));
        server.Resource.NotifyObservers();
        var notification = await peer.ReceiveAsync();

        var again = await peer.RequestAsync(ObserveTestServer.Register(TokenA));
        Assert.Equal(1, server.Resource.ObserverCount);
        Assert.True(ObserveSequence.IsNewer(notification.Observe!.Value, first.Observe!.Value));
        Assert.True(ObserveSequence.IsNewer(again.Observe!.Value, notification.Observe.Value));

        // One entry, so one notification per change.
        server.Resource.NotifyObservers();
        Assert.NotNull(await peer.ReceiveAsync());
        Assert.Null(await peer.TryReceiveAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task ResetToNonNotification_RemovesObserver()
    {
        await using var server = new ObserveTestServer();
        await using var peer = RawCoapPeer.Create(server.Address);
        await peer.RequestAsync(ObserveTestServer.Register(TokenA));
        server.Resource.NotifyObservers();
        var notification = await peer.ReceiveAsync();
        Assert.Equal(CoapMessageType.NonConfirmable, notification.Type);

        await peer.ResetAsync(notification);
        Assert.True(await ObserveTestServer.EventuallyAsync(() => server.Resource.ObserverCount == 0));
        Assert.Equal(0, server.Server.ObserveLayer.RememberedNotificationCount);
    }

    [Fact]
    public async Task ResetToUnrelatedMessageId_KeepsObserver()
    {
        await using var server = new ObserveTestServer();
        await using var peer = RawCoapPeer.Create(server.Address);
        await peer.RequestAsync(ObserveTestServer.Register(TokenA));
        server.Resource.NotifyObservers();
        var notification = await peer.ReceiveAsync();

        await peer.SendAsync(CoapMessage.CreateEmpty(CoapMessageType.Reset, (ushort)(notification.MessageId + 100)));
        await Task.Delay(200);
        Assert.Equal(1, server.Resource.ObserverCount);
    }

    [Fact]
    public async Task ClientThatForgotTheToken_ResetsNotification_AndServerRemovesObserver()
    {
        await using var server = new ObserveTestServer();
        await using var client = server.CreateClient();
        var exchange = client.Endpoint.OpenExchange(ObserveTestServer.Register([]), server.Address);
        await exchange.SendAsync(default);
        Assert.NotNull((await exchange.ReadResponseAsync(default)).Observe);
        await exchange.DisposeAsync();
        Assert.Equal(1, server.Resource.ObserverCount);

        // §3.6: the client's endpoint rejects the notification it no longer recognises.
        server.Resource.NotifyObservers();
        Assert.True(await ObserveTestServer.EventuallyAsync(() => server.Resource.ObserverCount == 0));
    }

    [Fact]
    public async Task ConfirmableNotification_IsSentOncePerInterval()
    {
        await using var server = new ObserveTestServer(o => o.Observe.ConfirmableInterval = TimeSpan.FromMilliseconds(300));
        await using var peer = RawCoapPeer.Create(server.Address);
        await peer.RequestAsync(ObserveTestServer.Register(TokenA));

        server.Resource.NotifyObservers();
        Assert.Equal(CoapMessageType.NonConfirmable, (await peer.ReceiveAsync()).Type);

        await Task.Delay(400);
        server.Resource.NotifyObservers();
        var confirmable = await peer.ReceiveAsync();
        Assert.Equal(CoapMessageType.Confirmable, confirmable.Type);
        Assert.NotNull(confirmable.Observe);
        await peer.AckAsync(confirmable);
        await Task.Delay(50);

        // The acknowledgement restarts the interval.
        server.Resource.NotifyObservers();
        var next = await peer.ReceiveAsync();
        Assert.Equal(CoapMessageType.NonConfirmable, next.Type);
        Assert.Equal(1, server.Resource.ObserverCount);
    }

    [Fact]
    public async Task UnacknowledgedConfirmableNotification_RemovesObserver()
    {
        await using var server = new ObserveTestServer(o =>
        {
            o.Observe.ConfirmableInterval = TimeSpan.Zero;
            o.Endpoint.AckTimeout = TimeSpan.FromMilliseconds(50);
            o.Endpoint.MaxRetransmit = 1;
        });
        var peer = RawCoapPeer.Create(server.Address);
        await peer.RequestAsync(ObserveTestServer.Register(TokenA));
        Assert.Equal(1, server.Resource.ObserverCount);
        await peer.DisposeAsync();   // the observer goes away without a word

        server.Resource.NotifyObservers();
        Assert.True(await ObserveTestServer.EventuallyAsync(() => server.Resource.ObserverCount == 0));
    }

    [Fact]
    public async Task ResetToConfirmableNotification_RemovesObserver()
    {
        await using var server = new ObserveTestServer(o => o.Observe.ConfirmableInterval = TimeSpan.Zero);
        await using var peer = RawCoapPeer.Create(server.Address);
        await peer.RequestAsync(ObserveTestServer.Register(TokenA));
        server.Resource.NotifyObservers();
        var notification = await peer.ReceiveAsync();
        Assert.Equal(CoapMessageType.Confirmable, notification.Type);

        await peer.ResetAsync(notification);
        Assert.True(await ObserveTestServer.EventuallyAsync(() => server.Resource.ObserverCount == 0));
    }

    [Fact]
    public async Task WhileConfirmableOutstanding_NothingElseIsSent_ThenOnlyNewestState()
    {
        await using var server = new ObserveTestServer(o =>
        {
            o.Observe.ConfirmableInterval = TimeSpan.Zero;
            o.Endpoint.AckTimeout = TimeSpan.FromMilliseconds(500);
            o.Endpoint.MaxRetransmit = 4;
        });
        await using var peer = RawCoapPeer.Create(server.Address);
        await peer.RequestAsync(ObserveTestServer.Register(TokenA));

        server.State = 1;
        server.Resource.NotifyObservers();
        var first = await peer.ReceiveAsync();
        Assert.Equal("1", first.PayloadText);

        server.State = 2;
        server.Resource.NotifyObservers();
        server.State = 3;
        server.Resource.NotifyObservers();

        // §4.5.1: nothing new while the CON is unacknowledged (its retransmission comes after ≥ 500 ms).
        Assert.Null(await peer.TryReceiveAsync(TimeSpan.FromMilliseconds(300)));
        await peer.AckAsync(first);

        // §4.5.2: the intermediate state 2 is skipped.
        CoapMessage next;
        do
        {
            next = await peer.ReceiveAsync();
        }
        while (next.MessageId == first.MessageId);
        Assert.Equal("3", next.PayloadText);
        Assert.True(ObserveSequence.IsNewer(next.Observe!.Value, first.Observe!.Value));
        await peer.AckAsync(next);
        Assert.Null(await peer.TryReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task NonConfirmableNotifications_ArePaced_AndCoalesced()
    {
        await using var server = new ObserveTestServer(o => o.Observe.MinNonConfirmableInterval = TimeSpan.FromMilliseconds(400));
        await using var peer = RawCoapPeer.Create(server.Address);
        await peer.RequestAsync(ObserveTestServer.Register(TokenA));

        server.State = 1;
        server.Resource.NotifyObservers();
        Assert.Equal("1", (await peer.ReceiveAsync()).PayloadText);
        for (int i = 2; i <= 5; i++)
        {
            server.State = i;
            server.Resource.NotifyObservers();
        }

        Assert.Null(await peer.TryReceiveAsync(TimeSpan.FromMilliseconds(250)));
        Assert.Equal("5", (await peer.ReceiveAsync()).PayloadText);
        Assert.Null(await peer.TryReceiveAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task ErrorNotification_HasNoObserve_AndEndsObservation()
    {
        await using var server = new ObserveTestServer();
        await using var peer = RawCoapPeer.Create(server.Address);
        await peer.RequestAsync(ObserveTestServer.Register(TokenA));

        server.Failing = true;
        server.Resource.NotifyObservers();
        var notification = await peer.ReceiveAsync();
        Assert.Equal(CoapCode.NotFound, notification.Code);
        Assert.Null(notification.Observe);
        Assert.Equal(TokenA, notification.Token.ToArray());
        Assert.Equal(CoapMessageType.Confirmable, notification.Type);
        await peer.AckAsync(notification);
        Assert.Equal(0, server.Resource.ObserverCount);
        Assert.Equal(0, server.Resource.NotifyObservers());
    }

    [Fact]
    public async Task ErrorResponseToRegistration_DoesNotRegister_AndEndsExistingEntry()
    {
        await using var server = new ObserveTestServer();
        await using var peer = RawCoapPeer.Create(server.Address);
        Assert.NotNull((await peer.RequestAsync(ObserveTestServer.Register(TokenA))).Observe);

        server.Failing = true;
        var response = await peer.RequestAsync(ObserveTestServer.Register(TokenA));
        Assert.Equal(CoapCode.NotFound, response.Code);
        Assert.Null(response.Observe);
        Assert.Equal(0, server.Resource.ObserverCount);

        var unknown = await peer.RequestAsync(ObserveTestServer.Request("/nope", TokenB));
        Assert.Equal(CoapCode.NotFound, unknown.Code);
        Assert.Null(unknown.Observe);
        Assert.Equal(0, server.Server.ObserveLayer.Count);
    }

    [Fact]
    public async Task ResourceNotObservable_IsServedWithoutObserve()
    {
        await using var server = new ObserveTestServer();
        server.Server.MapGet("/plain", (_, _) => ValueTask.FromResult(
            new CoapMessage { Code = CoapCode.Content }.SetUInt(CoapOptionNumber.Observe, 99)));
        await using var peer = RawCoapPeer.Create(server.Address);

        var response = await peer.RequestAsync(ObserveTestServer.Request("/plain", TokenA));
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Null(response.Observe);
        Assert.Equal(0, server.Server.ObserveLayer.Count);
    }

    [Fact]
    public async Task BeyondMaxObserversPerResource_ServedWithoutObserve()
    {
        await using var server = new ObserveTestServer(o => o.MaxObserversPerResource = 2);
        await using var peer = RawCoapPeer.Create(server.Address);
        Assert.NotNull((await peer.RequestAsync(ObserveTestServer.Register(TokenA))).Observe);
        Assert.NotNull((await peer.RequestAsync(ObserveTestServer.Register(TokenB))).Observe);

        var third = await peer.RequestAsync(ObserveTestServer.Register(TokenC));
        Assert.Equal(CoapCode.Content, third.Code);
        Assert.Null(third.Observe);
        Assert.Equal(2, server.Resource.ObserverCount);

        // Renewing an existing entry is not a new one.
        Assert.NotNull((await peer.RequestAsync(ObserveTestServer.Register(TokenA))).Observe);
        Assert.Equal(2, server.Resource.ObserverCount);
    }

    [Fact]
    public async Task ShapeNotificationHook_IsAppliedToNotifications()
    {
        await using var server = new ObserveTestServer();
        server.Server.ObserveLayer.ShapeNotification = (ctx, message) =>
        {
            Assert.Equal("state", ctx.Request.UriPath);
            return message.WithPayload(message.Payload[..1]).WithBlock2(new BlockOption(0, true, 0));
        };
        await using var peer = RawCoapPeer.Create(server.Address);
        await peer.RequestAsync(ObserveTestServer.Register(TokenA));

        server.State = 12345;
        server.Resource.NotifyObservers();
        var notification = await peer.ReceiveAsync();
        Assert.Equal("1", notification.PayloadText);
        Assert.Equal(new BlockOption(0, true, 0), notification.Block2);
        Assert.NotNull(notification.Observe);
        Assert.Equal(TokenA, notification.Token.ToArray());
    }

    [Fact]
    public async Task ChangeWhileRegistrationIsHandled_IsNotified()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int state = 0;
        int calls = 0;
        await using var server = new ObserveTestServer();
        var resource = server.Server.MapGet("/slow", async (_, _) =>
        {
            int snapshot = Volatile.Read(ref state);
            if (Interlocked.Increment(ref calls) == 1)
            {
                entered.SetResult();
                await release.Task;
            }

            return new CoapMessage { Code = CoapCode.Content }.WithPayload(snapshot.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }).Observable();
        await using var peer = RawCoapPeer.Create(server.Address);
        var registering = peer.RequestAsync(ObserveTestServer.Request("/slow", TokenA));
        await entered.Task;
        Volatile.Write(ref state, 1);
        Assert.Equal(0, resource.NotifyObservers());   // not registered yet
        release.SetResult();

        var response = await registering;
        Assert.Equal("0", response.PayloadText);
        Assert.NotNull(response.Observe);
        var notification = await peer.ReceiveAsync();
        Assert.Equal("1", notification.PayloadText);
    }
    [Fact]
    public async Task FetchRegistration_NotificationsRerunTheStoredRequestBody()
    {
        await using var server = new ObserveTestServer();
        server.Server.MapFetch("/query", (ctx, _) => ValueTask.FromResult(
            new CoapMessage { Code = CoapCode.Content }.WithPayload(ctx.Request.PayloadText + ":" + server.State))).Observable();
        await using var peer = RawCoapPeer.Create(server.Address);

        var fetch = (CoapMessage.CreateRequest(CoapCode.Fetch, "/query") with { Token = TokenA }).SetUInt(CoapOptionNumber.Observe, 0).WithPayload("q");
        var response = await peer.RequestAsync(fetch);
        Assert.Equal("q:0", response.PayloadText);
        Assert.NotNull(response.Observe);

        server.State = 7;
        server.Server.NotifyObservers("/query");
        Assert.Equal("q:7", (await peer.ReceiveAsync()).PayloadText);
    }

    [Fact]
    public async Task LaterBlockWithObserve_IsServedWithoutRegistering()
    {
        // RFC 7959 §2.6: blocks after the first are fetched as plain GETs; they never (re-)register.
        await using var server = new ObserveTestServer();
        await using var peer = RawCoapPeer.Create(server.Address);
        var response = await peer.RequestAsync(ObserveTestServer.Register(TokenA).WithBlock2(new BlockOption(1, false, 0)));

        // The one-byte state has no block 1: the block-wise layer answers 4.02 (block beyond the end).
        Assert.Equal(CoapCode.BadOption, response.Code);
        Assert.Null(response.Observe);
        Assert.Equal(0, server.Resource.ObserverCount);
    }
}
