using CoapEnroll.Coap;
using static CoapEnroll.Cli.Tests.Plugtest.BolObserve;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The observe test descriptions of the ETSI/F-Interop CoAP plugtest (TD_COAP_OBS_*, RFC 7641) against
/// <c>coapenroll serve --Coap:PlugtestResources=true</c> with 1 s changes (<see cref="BolObserveServerFixture"/>), driven by
/// libcoap's <c>coap-client-notls -s</c> and by raw datagrams. The verdict checks: the Observe option in the response and every
/// 2.xx notification, its values increasing (24-bit serial arithmetic, §4.4), the token and Content-Format unchanged, the message
/// type (CON for <c>/obs</c>, NON for <c>/obs-non</c>), and that deregistration (Observe=1, RST, DELETE, a Content-Format change)
/// stops the notifications while a plain GET does not. TD_COAP_OBS_04 to _06 are in <see cref="ObserveDeregistrationTdTests"/>.
/// </summary>
public sealed class ObserveTdTests : IClassFixture<BolObserveServerFixture>
{
    private readonly BolObserveServerFixture _fixture;

    public ObserveTdTests(BolObserveServerFixture fixture) => _fixture = fixture;

    // ---- TD_COAP_OBS_01: observation with CON notifications ---------------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_01_ObserveWithConNotifications_LibCoap()
    {
        var (result, messages) = await BolLibCoap.RunAsync(20, "-m", "get", "-s", "4", _fixture.Uri("/obs"));

        var responses = BolLibCoap.ServerResponses(messages);
        Assert.True(responses.Count >= 3 && responses[0].Type == "ACK" && responses[0].Observe is not null,
            $"Step 3: the response to the registration carries Observe.{Environment.NewLine}{result.Describe()}");
        var notifications = responses.Skip(1).Where(r => r.Code == "2.05").ToArray();
        Assert.True(notifications.Length >= 2, $"Step 5: at least two notifications in 4 s of 1 s changes.{Environment.NewLine}{result.Describe()}");
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
        var (result, messages) = await BolLibCoap.RunAsync(20, "-N", "-m", "get", "-s", "4", _fixture.Uri("/obs-non"));

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

    // ---- TD_COAP_OBS_07: DELETE of the observed resource -------------------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    public async Task TD_COAP_OBS_07_DeleteCleansObservers()
    {
        await using var observer = _fixture.CreateRawClient();
        await using var other = _fixture.CreateRawClient();
        var (token, _) = await RegisterAsync(observer, "/obs");
        await NextNotificationAsync(observer, token);
        var observing = RunLibCoapObserverAsync("/obs", 6);
        try
        {
            // Let libcoap register and get a notification before the DELETE (3 s of its 6).
            await Task.Delay(TimeSpan.FromSeconds(3));
            var deleted = await other.RequestAsync(CoapMessage.CreateRequest(CoapCode.Delete, "/obs"));
            Assert.Equal(CoapCode.Deleted, deleted.Code);

            // Step 9: 4.04 to the observer, with its token and without Observe, which ends the observation (step 10).
            var notFound = await observer.ReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span) && m.Code != CoapCode.Content, BolObserve.NotificationWait, "4.04 notification");
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
            var error = await observer.ReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span) && !m.Code.IsSuccess, BolObserve.NotificationWait, "error notification");
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

            var updated = await observer.ReceiveAsync(m => m.Token.Span.SequenceEqual(token.Span) && m.PayloadText == text, BolObserve.NotificationWait, "notification of the update");
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

    // ---- TD_COAP_OBS_13: observation of a large resource (Block2) -------------------------------------------------------------------

    [Fact]
    [Trait("Needs", "observe")]
    [Trait("Needs", "block-wise")]
    public async Task TD_COAP_OBS_13_ObserveLargeResourceWithBlock2_Raw()
    {
        await using var raw = _fixture.CreateRawClient();
        byte[] token = BolRawClient.NewToken();
        var block0 = new BlockOption(0, false, BlockOption.SizeToExponent(256));
        var response = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, "/obs-large").SetUInt(CoapOptionNumber.Observe, 0).WithBlock2(block0) with { Token = token });
        Assert.True(response.Code == CoapCode.Content && response.Observe is not null && response.Block2 is { Number: 0, More: true, Size: 256 }
            && response.Size2 == Hosting.PlugtestObserveResources.LargeSize, $"The registration's answer is the first 256-byte block with Observe: {response}");

        // RFC 7959 §2.6: a notification carries the first block of the new representation, at the size the registration asked for;
        // the client fetches the rest with plain GETs (no Observe), which the ETag ties to that representation. Should the resource
        // change meanwhile (every second here), a block comes with another ETag and the client starts over from the newer
        // notification (§2.4), as a client must.
        List<byte>? body = null;
        for (int attempt = 0; body is null; attempt++)
        {
            Assert.True(attempt < 5, "The representation changed during every one of 5 block-wise retrievals.");
            var notification = await NextNotificationAsync(raw, token);
            Assert.True(notification.Block2 is { Number: 0, More: true, Size: 256 } && notification.Payload.Length == 256, $"{notification}");
            body = [.. notification.Payload.ToArray()];
            for (int num = 1; ; num++)
            {
                var block = await raw.RequestAsync(CoapMessage.CreateRequest(CoapCode.Get, "/obs-large").WithBlock2(new BlockOption(num, false, block0.SizeExponent)));
                Assert.True(block.Code == CoapCode.Content && block.Observe is null && block.Block2?.Number == num && block.Block2?.Size == 256, $"Block {num}: {block}");
                if (!block.ETag!.Value.Span.SequenceEqual(notification.ETag!.Value.Span))
                {
                    body = null;
                    raw.Clear();
                    break;
                }

                body.AddRange(block.Payload.ToArray());
                if (block.Block2 is not { More: true })
                {
                    break;
                }
            }
        }

        string[] lines = System.Text.Encoding.ASCII.GetString(body.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Hosting.PlugtestObserveResources.LargeSize, body.Count);
        Assert.True(lines.All(l => l.Length < 4 || l[4..] == lines[0][4..] || lines[0][4..].StartsWith(l[4..], StringComparison.Ordinal)),
            "Every block belongs to the notified representation: each line repeats the first.");
        await DeregisterAsync(raw, "/obs-large", token);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------------------------------

    /// <summary>Observes <paramref name="path"/> with libcoap for <paramref name="seconds"/> in the background.</summary>
    private Task<(Infrastructure.ProcessResult Result, IReadOnlyList<BolPdu> Messages)> RunLibCoapObserverAsync(string path, int seconds)
        => BolLibCoap.RunAsync(seconds + 15, "-m", "get", "-s", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), _fixture.Uri(path));
}
