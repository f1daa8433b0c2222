using CoapEnroll.Coap;
using static CoapEnroll.Cli.Tests.Plugtest.BolObserve;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The observe test descriptions about an observation that ends without the client asking (TD_COAP_OBS_04 to _06, RFC 7641 §3.3.1,
/// §4.5): Max-Age, a client that stops answering, an explicit RST. Raw datagrams only, as each needs a client that misbehaves on
/// purpose. A class of their own, with their own server, because they mostly wait: xUnit runs them beside <see cref="ObserveTdTests"/>.
/// </summary>
public sealed class ObserveDeregistrationTdTests : IClassFixture<BolObserveServerFixture>
{
    private readonly BolObserveServerFixture _fixture;

    public ObserveDeregistrationTdTests(BolObserveServerFixture fixture) => _fixture = fixture;

    // ---- TD_COAP_OBS_04: client detection of deregistration (Max-Age) ------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_04_ClientDetectsDeregistrationByMaxAge_Raw()
    {
        await using var raw = _fixture.CreateRawClient();
        var (token, response) = await RegisterAsync(raw, "/obs");
        var notifications = await NotificationsAsync(raw, token, 2);

        // Max-Age covers the time to the next change (1 s here), so a client can tell a lost observation from a quiet resource.
        Assert.True(new[] { response }.Concat(notifications).All(n => n.MaxAge is { } age && age > BolObserveServerFixture.Interval.TotalSeconds),
            $"Every 2.05 carries a Max-Age longer than the change interval: {response}; {string.Join("; ", notifications)}");

        // The TD's stimulus is a server reboot, which forgets the observation. Rebooting the shared server would cost every other test
        // its state, so the server is made to forget it as a reboot would: the client rejects a notification (RST). The client then
        // hears nothing for longer than Max-Age, re-registers with Observe=0, and the server answers with Observe and notifies again.
        raw.AutoAcknowledge = false;
        raw.Clear();
        var last = await NextNotificationAsync(raw, token);
        await raw.ResetAsync(last);
        var quiet = TimeSpan.FromSeconds(last.MaxAge!.Value + 1);
        await AssertNoNotificationAsync(raw, token, $"for Max-Age ({last.MaxAge} s) after the server forgot the observation", quiet);

        raw.AutoAcknowledge = true;
        var again = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, "/obs").SetUInt(CoapOptionNumber.Observe, 0) with { Token = token });
        Assert.True(again.Code == CoapCode.Content && again.Observe is not null, $"Steps 5-6: the new registration is answered with Observe: {again}");
        var resumed = await NotificationsAsync(raw, token, 2);
        AssertIncreasing([again.Observe!.Value, .. resumed.Select(n => n.Observe!.Value)], string.Join("; ", resumed));
        await DeregisterAsync(raw, "/obs", token);
    }

    // ---- TD_COAP_OBS_05: server detection of deregistration (client OFF) ----------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_05_ServerDetectsClientOff_Raw()
    {
        await using var raw = _fixture.CreateRawClient();
        var (token, _) = await RegisterAsync(raw, "/obs");
        await NextNotificationAsync(raw, token);

        // The client is "switched off": it acknowledges nothing from now on.
        raw.AutoAcknowledge = false;
        raw.Clear();
        var unanswered = await NextNotificationAsync(raw, token);
        Assert.Equal(CoapMessageType.Confirmable, unanswered.Type);

        // Step 2: the CON notification is retransmitted MAX_RETRANSMIT times (the fixture's timeouts are 1, 2 and 4 s).
        var copies = new List<CoapMessage> { unanswered };
        for (int i = 0; i < BolObserveServerFixture.MaxRetransmit; i++)
        {
            copies.Add(await raw.ReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span), TimeSpan.FromSeconds(15), $"retransmission {i + 1}"));
        }

        Assert.True(copies.All(c => c.MessageId == unanswered.MessageId), $"Step 2: the same notification again: {string.Join("; ", copies)}");

        // Step 3: the last retransmission times out 4 s later and the server gives the observer up. Had it kept the observer, the
        // next change (every second) would be notified right then; nothing comes.
        var late = await raw.TryReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span), TimeSpan.FromSeconds(6));
        Assert.True(late is null, $"Step 3: nothing after the retransmissions, got {late}");
    }

    // ---- TD_COAP_OBS_06: server detection of deregistration (explicit RST) -------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_06_ServerDetectsExplicitRst_Raw()
    {
        await using var raw = _fixture.CreateRawClient();
        var (token, _) = await RegisterAsync(raw, "/obs");
        await NotificationsAsync(raw, token, 1);

        // Steps 6-9: the rebooted client no longer knows the token and rejects the next CON notification with RST instead of ACK.
        raw.AutoAcknowledge = false;
        raw.Clear();
        var notification = await NextNotificationAsync(raw, token);
        Assert.Equal(CoapMessageType.Confirmable, notification.Type);
        await raw.ResetAsync(notification);

        await AssertNoNotificationAsync(raw, token, "after the RST (step 10)");
    }
}
