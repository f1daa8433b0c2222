using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The observe test descriptions of the ETSI/F-Interop CoAP plugtest (TD_COAP_OBS_*, RFC 7641) against
/// <c>coapenroll serve --Coap:PlugtestResources=true</c> with 1 s changes (<see cref="BolObserveServerFixture"/>), driven by
/// libcoap's <c>coap-client-notls -s</c> and by raw datagrams. The verdict checks: the Observe option in the response and every
/// 2.xx notification, its values increasing (24-bit serial arithmetic, §4.4), the token and Content-Format unchanged, the message
/// type (CON for <c>/obs</c>, NON for <c>/obs-non</c>), Max-Age, and that deregistration (Observe=1, RST, a client that stops
/// answering, DELETE, a Content-Format change) stops the notifications while a plain GET does not.
/// </summary>
public sealed class ObserveTdTests : IClassFixture<BolObserveServerFixture>
{
    /// <summary>How long "no further notification" is watched: a live observation would have had two or three notifications.</summary>
    private static readonly TimeSpan s_silence = TimeSpan.FromSeconds(2.5);

    private static readonly TimeSpan s_notificationWait = TimeSpan.FromSeconds(15);

    private readonly BolObserveServerFixture _fixture;

    public ObserveTdTests(BolObserveServerFixture fixture) => _fixture = fixture;

    // ---- TD_COAP_OBS_01: observation with CON notifications ---------------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_01_ObserveWithConNotifications_LibCoap()
    {
        var (result, messages) = await BolLibCoap.RunAsync(20, "-m", "get", "-s", "3", _fixture.Uri("/obs"));

        var responses = BolLibCoap.ServerResponses(messages);
        Assert.True(responses.Count >= 3 && responses[0].Type == "ACK" && responses[0].Observe is not null,
            $"Step 3: the response to the registration carries Observe.{Environment.NewLine}{result.Describe()}");
        var notifications = responses.Skip(1).Where(r => r.Code == "2.05").ToArray();
        Assert.True(notifications.Length >= 2, $"Step 5: at least two notifications in 3 s of 1 s changes.{Environment.NewLine}{result.Describe()}");
        Assert.True(notifications.All(n => n.Type == "CON" && n.Token == responses[0].Token && n.Option("Content-Format") == "text/plain" && n.MaxAge is > 1),
            $"Step 5: CON notifications with the registration's token, text/plain and a Max-Age.{Environment.NewLine}{result.Describe()}");
        AssertIncreasing(responses.Where(r => r.Observe is not null).Select(r => r.Observe!.Value).ToArray(), result.Describe());
    }

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_01_ObserveWithConNotifications_Raw()
    {
        await using var raw = _fixture.CreateRawClient();
        var (token, response) = await RegisterAsync(raw, "/obs");

        Assert.True(response.Type == CoapMessageType.Acknowledgement && response.Code == CoapCode.Content && response.Observe is not null
            && response.ContentFormat == CoapContentFormat.TextPlain && !response.Payload.IsEmpty, $"Step 3: {response}");
        var notifications = await NotificationsAsync(raw, token, 3);
        Assert.True(notifications.All(n => n.Type == CoapMessageType.Confirmable && n.Code == CoapCode.Content && n.ContentFormat == CoapContentFormat.TextPlain),
            $"Step 5: CON 2.05 text/plain notifications: {string.Join("; ", notifications)}");
        AssertIncreasing([response.Observe!.Value, .. notifications.Select(n => n.Observe!.Value)], string.Join("; ", notifications));
        Assert.True(notifications.Select(n => n.PayloadText).Distinct().Count() == notifications.Length, "Each notification carries the changed state.");
        await DeregisterAsync(raw, "/obs", token);
    }

    // ---- TD_COAP_OBS_02: observation with NON messages ----------------------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_02_ObserveWithNonNotifications_LibCoap()
    {
        var (result, messages) = await BolLibCoap.RunAsync(20, "-N", "-m", "get", "-s", "3", _fixture.Uri("/obs-non"));

        var responses = BolLibCoap.ServerResponses(messages);
        Assert.True(responses.Count >= 3 && responses.All(r => r.Type == "NON" && r.Code == "2.05" && r.Observe is not null),
            $"The response and the notifications are NON 2.05 with Observe.{Environment.NewLine}{result.Describe()}");
        AssertIncreasing(responses.Select(r => r.Observe!.Value).ToArray(), result.Describe());
    }

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_02_ObserveWithNonNotifications_Raw()
    {
        await using var raw = _fixture.CreateRawClient();
        var (token, response) = await RegisterAsync(raw, "/obs-non", CoapMessageType.NonConfirmable);

        Assert.True(response.Type == CoapMessageType.NonConfirmable && response.Code == CoapCode.Content && response.Observe is not null, $"{response}");
        var notifications = await NotificationsAsync(raw, token, 3);
        Assert.True(notifications.All(n => n.Type == CoapMessageType.NonConfirmable), $"NON notifications: {string.Join("; ", notifications)}");
        AssertIncreasing([response.Observe!.Value, .. notifications.Select(n => n.Observe!.Value)], string.Join("; ", notifications));

        // The observer ends it by rejecting a NON notification with RST (RFC 7641 §3.6), which the server maps back to it.
        var next = await NextNotificationAsync(raw, token);
        await raw.ResetAsync(next);
        await AssertNoNotificationAsync(raw, token, "after the RST of a NON notification");
    }

    // ---- TD_COAP_OBS_03: stop observation (GET with Observe=1) ------------------------------------------------------------------------

    // Raw datagrams only: libcoap 4.3.1 (-s) does send GET with Observe=1 and the registration's token when its time is up, but
    // exits without reading the answer, so its log cannot show the server's side of step 3.
    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_03_StopObservation_Raw()
    {
        await using var raw = _fixture.CreateRawClient();
        var (token, _) = await RegisterAsync(raw, "/obs");
        await NextNotificationAsync(raw, token);

        var response = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, "/obs").SetUInt(CoapOptionNumber.Observe, 1) with { Token = token });

        Assert.True(response.Code == CoapCode.Content && response.Observe is null, $"Step 3: the answer to Observe=1 has no Observe: {response}");
        await AssertNoNotificationAsync(raw, token, "after deregistering with Observe=1");
    }

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

    // ---- TD_COAP_OBS_07: DELETE of the observed resource -------------------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_07_DeleteCleansObservers()
    {
        await using var observer = _fixture.CreateRawClient();
        await using var other = _fixture.CreateRawClient();
        var (token, _) = await RegisterAsync(observer, "/obs");
        await NextNotificationAsync(observer, token);
        var observing = RunLibCoapObserverAsync("/obs", 4);
        try
        {
            // Let libcoap register and get a notification before the DELETE.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var deleted = await other.RequestAsync(CoapMessage.CreateRequest(CoapCode.Delete, "/obs"));
            Assert.Equal(CoapCode.Deleted, deleted.Code);

            // Step 9: 4.04 to the observer, with its token and without Observe, which ends the observation (step 10).
            var notFound = await observer.ReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span) && m.Code != CoapCode.Content, s_notificationWait, "4.04 notification");
            Assert.True(notFound.Code == CoapCode.NotFound && notFound.Observe is null && notFound.Type == CoapMessageType.Confirmable, $"Step 9: {notFound}");
            await AssertNoNotificationAsync(observer, token, "after the 4.04");

            var (result, messages) = await observing;
            var libcoapEnd = BolLibCoap.ServerResponses(messages).LastOrDefault(m => m.Type == "CON");
            Assert.True(libcoapEnd is { Code: "4.04", Observe: null }, $"libcoap's observation ends with a 4.04 without Observe.{Environment.NewLine}{result.Describe()}");
        }
        finally
        {
            await RestoreObsAsync(other);
        }
    }

    // ---- TD_COAP_OBS_08: Content-Format change ------------------------------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_08_ContentFormatChangeCleansObservers()
    {
        await using var observer = _fixture.CreateRawClient();
        await using var other = _fixture.CreateRawClient();
        var (token, response) = await RegisterAsync(observer, "/obs");
        Assert.Equal(CoapContentFormat.TextPlain, response.ContentFormat);
        await NextNotificationAsync(observer, token);
        try
        {
            // Step 7: update /obs with another Content-Format (application/xml, 41).
            var put = await other.RequestAsync(CoapMessage.CreateRequest(CoapCode.Put, "/obs").WithContentFormat(41).WithPayload("<obs>changed format</obs>"));
            Assert.Equal(CoapCode.Changed, put.Code);

            // Step 9: the TD (written before RFC 7641 was final) expects 5.00 Internal Server Error. RFC 7641 §4.2 specifies 4.06
            // Not Acceptable for a server that cannot keep the registration's Content-Format, and the server sends that; what the TD
            // checks (an error notification without Observe to the observer, then no more notifications) holds.
            var error = await observer.ReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span) && !m.Code.IsSuccess, s_notificationWait, "error notification");
            Assert.True(error.Code == CoapCode.NotAcceptable && error.Observe is null, $"Step 9: {error}");
            await AssertNoNotificationAsync(observer, token, "after the 4.06 (step 10)");
        }
        finally
        {
            await RestoreObsAsync(other);
        }
    }

    // ---- TD_COAP_OBS_09: update of the observed resource ----------------------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_09_UpdateOfObservedResource()
    {
        await using var observer = _fixture.CreateRawClient();
        await using var other = _fixture.CreateRawClient();
        var (token, response) = await RegisterAsync(observer, "/obs");
        await NextNotificationAsync(observer, token);
        try
        {
            string text = "updated by TD_COAP_OBS_09 " + Guid.NewGuid().ToString("N");
            var put = await other.RequestAsync(CoapMessage.CreateRequest(CoapCode.Put, "/obs").WithContentFormat(CoapContentFormat.TextPlain).WithPayload(text));
            Assert.Equal(CoapCode.Changed, put.Code);

            var updated = await observer.ReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span) && m.PayloadText == text, s_notificationWait, "notification of the update");
            Assert.True(updated.Code == CoapCode.Content && updated.Observe is not null && updated.ContentFormat == CoapContentFormat.TextPlain, $"{updated}");
            AssertIncreasing([response.Observe!.Value, updated.Observe!.Value], updated.ToString());

            // The observation goes on after the update.
            var later = await NextNotificationAsync(observer, token);
            AssertIncreasing([updated.Observe!.Value, later.Observe!.Value], later.ToString());
            await DeregisterAsync(observer, "/obs", token);
        }
        finally
        {
            await RestoreObsAsync(other);
        }
    }

    // ---- TD_COAP_OBS_10: GET does not cancel the observation ---------------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_10_GetDoesNotCancelObservation()
    {
        await using var raw = _fixture.CreateRawClient();
        var (token, _) = await RegisterAsync(raw, "/obs");
        var before = await NextNotificationAsync(raw, token);

        // The same client GETs /obs without Observe (another token): a plain response, and the observation goes on.
        var plain = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, "/obs"));
        Assert.True(plain.Code == CoapCode.Content && plain.Observe is null, $"The plain GET's response has no Observe: {plain}");

        var after = await NextNotificationAsync(raw, token);
        AssertIncreasing([before.Observe!.Value, after.Observe!.Value], after.ToString());
        await DeregisterAsync(raw, "/obs", token);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------------------------------

    private static async Task<(ReadOnlyMemory<byte> Token, CoapMessage Response)> RegisterAsync(BolRawClient raw, string path, CoapMessageType type = CoapMessageType.Confirmable)
    {
        byte[] token = BolRawClient.NewToken();
        var response = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, path, type).SetUInt(CoapOptionNumber.Observe, 0) with { Token = token });
        Assert.True(response.Code == CoapCode.Content && response.Observe is not null, $"Registration on {path}: {response}");
        return (token, response);
    }

    private static async Task DeregisterAsync(BolRawClient raw, string path, ReadOnlyMemory<byte> token)
    {
        var response = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, path).SetUInt(CoapOptionNumber.Observe, 1) with { Token = token });
        Assert.True(response.Observe is null, $"Deregistration: {response}");
    }

    private static Task<CoapMessage> NextNotificationAsync(BolRawClient raw, ReadOnlyMemory<byte> token)
        => raw.ReceiveAsync(m => m.IsResponse && m.Observe is not null && m.Token.Span.SequenceEqual(token.Span), s_notificationWait, "notification");

    private static async Task<CoapMessage[]> NotificationsAsync(BolRawClient raw, ReadOnlyMemory<byte> token, int count)
    {
        var notifications = new CoapMessage[count];
        for (int i = 0; i < count; i++)
        {
            notifications[i] = await NextNotificationAsync(raw, token);
        }

        return notifications;
    }

    /// <summary>
    /// Nothing with <paramref name="token"/> arrives for <paramref name="window"/> (default <see cref="s_silence"/>), once anything
    /// already on its way has landed: messages that arrive in the first half second are dropped.
    /// </summary>
    private static async Task AssertNoNotificationAsync(BolRawClient raw, ReadOnlyMemory<byte> token, string when, TimeSpan? window = null)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        raw.Clear();
        var late = await raw.TryReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span), window ?? s_silence);
        Assert.True(late is null, $"No notification {when}, got {late}");
    }

    /// <summary>Observes <paramref name="path"/> with libcoap for <paramref name="seconds"/> in the background.</summary>
    private Task<(Infrastructure.ProcessResult Result, IReadOnlyList<BolPdu> Messages)> RunLibCoapObserverAsync(string path, int seconds)
        => BolLibCoap.RunAsync(seconds + 15, "-m", "get", "-s", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), _fixture.Uri(path));

    /// <summary>Gives the next test an /obs as the server starts with: PUT re-creates a deleted /obs, and the clock resumes two changes later.</summary>
    private static async Task RestoreObsAsync(BolRawClient raw)
    {
        var response = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Put, "/obs").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("restored"));
        Assert.True(response.Code == CoapCode.Created || response.Code == CoapCode.Changed, $"Restoring /obs: {response}");
    }

    /// <summary>RFC 7641 §4.4: each value is newer than the one before, in 24-bit serial arithmetic.</summary>
    private static void AssertIncreasing(IReadOnlyList<uint> values, string context)
    {
        for (int i = 1; i < values.Count; i++)
        {
            uint difference = (values[i] - values[i - 1]) & 0xFFFFFF;
            Assert.True(difference is > 0 and < 0x800000, $"Observe {values[i]} after {values[i - 1]} is not newer.{Environment.NewLine}{context}");
        }
    }
}
