using System.Text;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The ETSI/F-Interop CoAP plugtest core test descriptions (TD_COAP_CORE_xx) with hand-built datagrams as the client
/// (<see cref="RawCoapClient"/>: no retransmission, no automatic acknowledgement) against
/// <c>coapenroll serve --Coap:PlugtestResources=true</c>. The client chooses every message ID and token, so each check of a
/// TD (type, code, message ID, token echo, options, payload) is asserted on the server's exact reply; this covers the TDs
/// libcoap's client cannot drive (an empty token, a CoAP ping).
/// </summary>
public sealed class CoreTdRawTests : IClassFixture<PlugtestServerFixture>
{
    private readonly PlugtestServerFixture _server;

    public CoreTdRawTests(PlugtestServerFixture server) => _server = server;

    [Fact]
    public async Task TD_COAP_CORE_01_GetCon()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Get, "/test");

        var response = await client.ExchangeAsync(request);

        AssertPiggybacked(request, response, CoapCode.Content);
        AssertContentFormatAndPayload(response);
    }

    [Fact]
    public async Task TD_COAP_CORE_02_DeleteCon()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Delete, "/test");
        try
        {
            var response = await client.ExchangeAsync(request);

            AssertPiggybacked(request, response, CoapCode.Deleted);
            AssertContentFormatIfPayload(response);
            var get = await client.ExchangeAsync(Con(CoapCode.Get, "/test"));
            Assert.True(get.Code == CoapCode.NotFound, $"GET after DELETE: {get}");
        }
        finally
        {
            await RestoreTestAsync(client);
        }
    }

    [Fact]
    public async Task TD_COAP_CORE_03_PutCon()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Put, "/test").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("TD_COAP_CORE_03 raw body");

        var response = await client.ExchangeAsync(request);

        Assert.True(response.Code == CoapCode.Changed || response.Code == CoapCode.Created, response.ToString());
        AssertPiggybacked(request, response, response.Code);
        AssertContentFormatIfPayload(response);
        var get = await client.ExchangeAsync(Con(CoapCode.Get, "/test"));
        Assert.Equal("TD_COAP_CORE_03 raw body", get.PayloadText);
    }

    [Fact]
    public async Task TD_COAP_CORE_04_PostCon()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Post, "/test").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("TD_COAP_CORE_04 raw body");

        var response = await client.ExchangeAsync(request);

        Assert.True(response.Code == CoapCode.Created || response.Code == CoapCode.Changed, response.ToString());
        AssertPiggybacked(request, response, response.Code);
        AssertContentFormatIfPayload(response);
    }

    [Fact]
    public async Task TD_COAP_CORE_05_GetNon()
    {
        using var client = _server.NewRawClient();
        var request = Non(CoapCode.Get, "/test");

        var response = await client.ExchangeAsync(request);

        AssertNonResponse(request, response, CoapCode.Content);
        AssertContentFormatAndPayload(response);
    }

    [Fact]
    public async Task TD_COAP_CORE_06_DeleteNon()
    {
        using var client = _server.NewRawClient();
        var request = Non(CoapCode.Delete, "/test");
        try
        {
            var response = await client.ExchangeAsync(request);

            AssertNonResponse(request, response, CoapCode.Deleted);
            AssertContentFormatIfPayload(response);
        }
        finally
        {
            await RestoreTestAsync(client);
        }
    }

    [Fact]
    public async Task TD_COAP_CORE_07_PutNon()
    {
        using var client = _server.NewRawClient();
        var request = Non(CoapCode.Put, "/test").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("TD_COAP_CORE_07 raw body");

        var response = await client.ExchangeAsync(request);

        Assert.True(response.Code == CoapCode.Changed || response.Code == CoapCode.Created, response.ToString());
        AssertNonResponse(request, response, response.Code);
        AssertContentFormatIfPayload(response);
    }

    [Fact]
    public async Task TD_COAP_CORE_08_PostNon()
    {
        using var client = _server.NewRawClient();
        var request = Non(CoapCode.Post, "/test").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("TD_COAP_CORE_08 raw body");

        var response = await client.ExchangeAsync(request);

        Assert.True(response.Code == CoapCode.Created || response.Code == CoapCode.Changed, response.ToString());
        AssertNonResponse(request, response, response.Code);
        AssertContentFormatIfPayload(response);
    }

    [Fact]
    public async Task TD_COAP_CORE_09_GetSeparateCon()
    {
        using var client = _server.NewRawClient();
        await AssertSeparateAsync(client, Con(CoapCode.Get, "/separate"));
    }

    [Fact]
    public async Task TD_COAP_CORE_10_GetConWithToken()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Get, "/test", RawCoapClient.NewToken(8));

        var response = await client.ExchangeAsync(request);

        AssertPiggybacked(request, response, CoapCode.Content);
        AssertContentFormatAndPayload(response);
    }

    [Fact]
    public async Task TD_COAP_CORE_11_GetSeparateConWithToken()
    {
        using var client = _server.NewRawClient();
        await AssertSeparateAsync(client, Con(CoapCode.Get, "/separate", RawCoapClient.NewToken(8)));
    }

    [Fact]
    public async Task TD_COAP_CORE_12_GetConWithEmptyToken()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Get, "/test", token: []);
        Assert.Equal(0x40, CoapMessageEncoder.Encode(request)[0]); // version 1, CON, TKL 0

        var response = await client.ExchangeAsync(request);

        AssertPiggybacked(request, response, CoapCode.Content);
        Assert.True(response.Token.IsEmpty, response.ToString());
        AssertContentFormatAndPayload(response);
    }

    [Fact]
    public async Task TD_COAP_CORE_13_GetSeveralUriPaths()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Get, "/seg1/seg2/seg3");
        Assert.Equal(new[] { "seg1", "seg2", "seg3" }, request.UriPathSegments);

        var response = await client.ExchangeAsync(request);

        AssertPiggybacked(request, response, CoapCode.Content);
        AssertContentFormatAndPayload(response);
    }

    [Fact]
    public async Task TD_COAP_CORE_14_GetSeveralUriQueries()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Get, "/query").WithUriQuery("first=1").WithUriQuery("second=2").WithUriQuery("third=3");

        var response = await client.ExchangeAsync(request);

        AssertPiggybacked(request, response, CoapCode.Content);
        AssertContentFormatAndPayload(response);
        Assert.Contains("3 Uri-Query option(s): first=1 second=2 third=3", response.PayloadText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TD_COAP_CORE_17_GetSeparateNon()
    {
        using var client = _server.NewRawClient();
        var request = Non(CoapCode.Get, "/separate");

        // The first message back must already be the response: a NON request is not acknowledged.
        var response = await client.ExchangeAsync(request);

        AssertNonResponse(request, response, CoapCode.Content);
        AssertContentFormatAndPayload(response);
    }

    [Fact]
    public async Task TD_COAP_CORE_18_PostWithSeveralLocationPaths()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Post, "/test").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("TD_COAP_CORE_18 raw body");

        var response = await client.ExchangeAsync(request);

        AssertPiggybacked(request, response, CoapCode.Created);
        Assert.Equal(new[] { "location1", "location2", "location3" }, response.LocationPath);
        var created = await client.ExchangeAsync(Con(CoapCode.Get, "/" + string.Join('/', response.LocationPath)));
        Assert.True(created.Code == CoapCode.Content && created.PayloadText == "TD_COAP_CORE_18 raw body", created.ToString());
    }

    [Fact]
    public async Task TD_COAP_CORE_19_PostWithSeveralLocationQueries()
    {
        using var client = _server.NewRawClient();
        var request = Con(CoapCode.Post, "/location-query").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("TD_COAP_CORE_19 raw body");

        var response = await client.ExchangeAsync(request);

        AssertPiggybacked(request, response, CoapCode.Created);
        AssertContentFormatIfPayload(response);
        Assert.Equal(new[] { "first=1", "second=2" }, response.GetStrings(CoapOptionNumber.LocationQuery));
        var created = await client.ExchangeAsync(Con(CoapCode.Get, "/location-query").WithUriQuery("first=1").WithUriQuery("second=2"));
        Assert.True(created.Code == CoapCode.Content && created.PayloadText == "TD_COAP_CORE_19 raw body", created.ToString());
    }

    [Fact]
    public async Task TD_COAP_CORE_20_GetWithAccept()
    {
        using var client = _server.NewRawClient();
        var text = Con(CoapCode.Get, "/multi-format").WithAccept(CoapContentFormat.TextPlain);
        var xml = Con(CoapCode.Get, "/multi-format").WithAccept(CoapContentFormat.Xml) with { MessageId = (ushort)(text.MessageId + 1) };

        var textResponse = await client.ExchangeAsync(text);
        var xmlResponse = await client.ExchangeAsync(xml);

        AssertPiggybacked(text, textResponse, CoapCode.Content);
        Assert.True(textResponse.ContentFormat == CoapContentFormat.TextPlain && !textResponse.Payload.IsEmpty, textResponse.ToString());
        AssertPiggybacked(xml, xmlResponse, CoapCode.Content);
        Assert.True(xmlResponse.ContentFormat == CoapContentFormat.Xml && xmlResponse.PayloadText.StartsWith('<'), xmlResponse.ToString());

        // Beyond the TD: RFC 7252 §5.10.4, a format the resource does not have is 4.06.
        var cbor = await client.ExchangeAsync(Con(CoapCode.Get, "/multi-format").WithAccept(CoapContentFormat.Cbor));
        Assert.True(cbor.Code == CoapCode.NotAcceptable, cbor.ToString());
    }

    [Fact]
    public async Task TD_COAP_CORE_21_GetWithETag()
    {
        using var client = _server.NewRawClient();

        // Part A.
        var getA = Con(CoapCode.Get, "/validate");
        var responseA = await client.ExchangeAsync(getA);
        AssertPiggybacked(getA, responseA, CoapCode.Content);
        byte[] etag1 = responseA.ETag?.ToArray() ?? throw new Xunit.Sdk.XunitException($"No ETag: {responseA}");
        Assert.False(responseA.Payload.IsEmpty);

        // Part B.
        var getB = WithETag(Con(CoapCode.Get, "/validate"), etag1);
        var responseB = await client.ExchangeAsync(getB);
        AssertPiggybacked(getB, responseB, CoapCode.Valid);
        Assert.True(responseB.ETag is { } validated && validated.Span.SequenceEqual(etag1) && responseB.Payload.IsEmpty, responseB.ToString());

        // Part C: another client (another socket) updates the resource.
        using (var other = _server.NewRawClient())
        {
            var update = await other.ExchangeAsync(Con(CoapCode.Put, "/validate").WithContentFormat(CoapContentFormat.TextPlain)
                .WithPayload($"TD_COAP_CORE_21 raw update {Guid.NewGuid():N}"));
            Assert.True(update.Code == CoapCode.Changed, update.ToString());
        }

        var getC = WithETag(Con(CoapCode.Get, "/validate"), etag1);
        var responseC = await client.ExchangeAsync(getC);
        AssertPiggybacked(getC, responseC, CoapCode.Content);
        Assert.True(responseC.ETag is { } etag2 && !etag2.Span.SequenceEqual(etag1), responseC.ToString());
        Assert.False(responseC.Payload.IsEmpty || responseC.Payload.Span.SequenceEqual(responseA.Payload.Span), responseC.ToString());
    }

    [Fact]
    public async Task TD_COAP_CORE_22_PutWithIfMatch()
    {
        using var client = _server.NewRawClient();
        var get1 = await client.ExchangeAsync(Con(CoapCode.Get, "/validate"));
        byte[] etag1 = get1.ETag?.ToArray() ?? throw new Xunit.Sdk.XunitException($"No ETag: {get1}");

        // Part A.
        string body5 = $"TD_COAP_CORE_22 raw step 5 {Guid.NewGuid():N}";
        var put5 = IfMatch(Con(CoapCode.Put, "/validate").WithContentFormat(CoapContentFormat.TextPlain).WithPayload(body5), etag1);
        var response5 = await client.ExchangeAsync(put5);
        AssertPiggybacked(put5, response5, CoapCode.Changed);
        AssertContentFormatIfPayload(response5);

        // Part B.
        var get9 = Con(CoapCode.Get, "/validate");
        var response9 = await client.ExchangeAsync(get9);
        AssertPiggybacked(get9, response9, CoapCode.Content);
        byte[] etag2 = response9.ETag?.ToArray() ?? throw new Xunit.Sdk.XunitException($"No ETag: {response9}");
        Assert.False(etag2.AsSpan().SequenceEqual(etag1));
        Assert.Equal(body5, response9.PayloadText);

        string body13 = $"TD_COAP_CORE_22 raw step 13 {Guid.NewGuid():N}";
        var put13 = Con(CoapCode.Put, "/validate").WithContentFormat(CoapContentFormat.TextPlain).WithPayload(body13);
        AssertPiggybacked(put13, await client.ExchangeAsync(put13), CoapCode.Changed);

        var put17 = IfMatch(Con(CoapCode.Put, "/validate").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("TD_COAP_CORE_22 raw step 17"), etag2);
        var response17 = await client.ExchangeAsync(put17);

        // The TD's step 18 says "Message ID = CMID4, Token = CTOK4", a slip for the request of step 17 (CMID5, CTOK5).
        AssertPiggybacked(put17, response17, CoapCode.PreconditionFailed);
        Assert.Equal(body13, (await client.ExchangeAsync(Con(CoapCode.Get, "/validate"))).PayloadText);
    }

    [Fact]
    public async Task TD_COAP_CORE_23_PutWithIfNoneMatch()
    {
        using var client = _server.NewRawClient();
        var reset = await client.ExchangeAsync(Con(CoapCode.Delete, "/create1"));
        Assert.True(reset.Code == CoapCode.Deleted, reset.ToString());

        // Part A.
        var create = IfNoneMatch(Con(CoapCode.Put, "/create1").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("TD_COAP_CORE_23 raw first"));
        var created = await client.ExchangeAsync(create);
        AssertPiggybacked(create, created, CoapCode.Created);
        AssertContentFormatIfPayload(created);

        // Part B.
        var again = IfNoneMatch(Con(CoapCode.Put, "/create1").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("TD_COAP_CORE_23 raw second"));
        var refused = await client.ExchangeAsync(again);
        AssertPiggybacked(again, refused, CoapCode.PreconditionFailed);

        // The TD allows an empty or non-empty payload (F-Interop's checker wants it empty): ours is a diagnostic payload
        // (RFC 7252 §5.5.2), which by definition has no Content-Format, saying which condition failed.
        Assert.True(refused.ContentFormat is null && refused.PayloadText == "If-None-Match: the resource exists", refused.ToString());
        Assert.Equal("TD_COAP_CORE_23 raw first", (await client.ExchangeAsync(Con(CoapCode.Get, "/create1"))).PayloadText);
    }

    [Fact]
    public async Task TD_COAP_CORE_31_Ping()
    {
        using var client = _server.NewRawClient();
        ushort mid = RawCoapClient.NewMessageId();

        // Four bytes: version 1, CON, TKL 0; code 0.00; the message ID. No token, no options, no payload.
        await client.SendAsync(new byte[] { 0x40, 0x00, (byte)(mid >> 8), (byte)mid });
        byte[] reply = await client.ReceiveDatagramAsync("a Reset to the ping");

        // Four bytes: version 1, RST, TKL 0; code 0.00; the same message ID.
        Assert.Equal(Convert.ToHexString([0x70, 0x00, (byte)(mid >> 8), (byte)mid]), Convert.ToHexString(reply));
    }

    private static CoapMessage Con(CoapCode method, string path, byte[]? token = null) =>
        RawCoapClient.Request(CoapMessageType.Confirmable, method, path, token);

    private static CoapMessage Non(CoapCode method, string path, byte[]? token = null) =>
        RawCoapClient.Request(CoapMessageType.NonConfirmable, method, path, token);

    private static CoapMessage WithETag(CoapMessage request, byte[] etag) => request.WithOption(new CoapOption(CoapOptionNumber.ETag, etag));

    private static CoapMessage IfMatch(CoapMessage request, byte[] etag) => request.WithOption(new CoapOption(CoapOptionNumber.IfMatch, etag));

    private static CoapMessage IfNoneMatch(CoapMessage request) => request.WithOption(CoapOption.Empty(CoapOptionNumber.IfNoneMatch));

    private static async Task RestoreTestAsync(RawCoapClient client)
    {
        var response = await client.ExchangeAsync(Con(CoapCode.Put, "/test").WithContentFormat(CoapContentFormat.TextPlain).WithPayload("restored after a DELETE TD"));
        Assert.True(response.Code == CoapCode.Created || response.Code == CoapCode.Changed, response.ToString());
    }

    /// <summary>
    /// TD_COAP_CORE_09/11: the server acknowledges at once with an empty ACK (exactly the 4-byte header, the request's
    /// message ID), then sends the response as a CON of its own with the request's token, a Content-Format and a payload,
    /// which the client acknowledges.
    /// </summary>
    private static async Task AssertSeparateAsync(RawCoapClient client, CoapMessage request)
    {
        await client.SendAsync(request);

        byte[] ack = await client.ReceiveDatagramAsync("the empty ACK");
        Assert.Equal(Convert.ToHexString([0x60, 0x00, (byte)(request.MessageId >> 8), (byte)request.MessageId]), Convert.ToHexString(ack));

        var response = await client.ReceiveAsync("the separate response");
        Assert.True(response.Type == CoapMessageType.Confirmable && response.Code == CoapCode.Content, response.ToString());
        Assert.True(response.Token.Span.SequenceEqual(request.Token.Span), $"token of {response} is not the request's {Convert.ToHexString(request.Token.Span)}");
        AssertContentFormatAndPayload(response);
        await client.AcknowledgeAsync(response);
    }

    private static void AssertPiggybacked(CoapMessage request, CoapMessage response, CoapCode code)
    {
        Assert.True(response.Type == CoapMessageType.Acknowledgement && response.Code == code, $"expected an ACK {code}, got {response}");
        Assert.True(response.MessageId == request.MessageId, $"message ID of {response} is not the request's {request.MessageId}");
        Assert.True(response.Token.Span.SequenceEqual(request.Token.Span), $"token of {response} is not the request's {Convert.ToHexString(request.Token.Span)}");
    }

    private static void AssertNonResponse(CoapMessage request, CoapMessage response, CoapCode code)
    {
        Assert.True(response.Type == CoapMessageType.NonConfirmable && response.Code == code, $"expected a NON {code}, got {response}");
        Assert.True(response.Token.Span.SequenceEqual(request.Token.Span), $"token of {response} is not the request's {Convert.ToHexString(request.Token.Span)}");
    }

    private static void AssertContentFormatAndPayload(CoapMessage response) =>
        Assert.True(response.ContentFormat is not null && !response.Payload.IsEmpty, $"expected a Content-Format and a payload: {response}");

    private static void AssertContentFormatIfPayload(CoapMessage response) =>
        Assert.True(response.Payload.IsEmpty || response.ContentFormat is not null, $"a payload needs a Content-Format: {response} {Encoding.UTF8.GetString(response.Payload.Span)}");
}
