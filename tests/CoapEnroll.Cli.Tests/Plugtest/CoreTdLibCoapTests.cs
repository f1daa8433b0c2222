using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The ETSI/F-Interop CoAP plugtest core test descriptions (TD_COAP_CORE_xx) with libcoap's <c>coap-client-notls</c> as the
/// client and <c>coapenroll serve --Coap:PlugtestResources=true</c> as the server under test. Each test performs the TD's
/// stimulus and asserts its checks on the messages as the client logged them (<c>-v 9</c>): message type, code, message ID
/// and token matching, options and payload. TD_COAP_CORE_12 (empty token) and _31 (ping) are in <see cref="CoreTdRawTests"/>
/// only: coap-client 4.3 always sends a token and has no one-shot ping.
/// </summary>
public sealed class CoreTdLibCoapTests : IClassFixture<PlugtestServerFixture>
{
    private readonly PlugtestServerFixture _server;

    public CoreTdLibCoapTests(PlugtestServerFixture server) => _server = server;

    [Fact]
    public async Task TD_COAP_CORE_01_GetCon()
    {
        var trace = await RunAsync("-m", "get", _server.Uri("/test"));

        AssertRequest(trace, "CON", "GET", "test");
        AssertPiggybacked(trace, "2.05");
        AssertContentFormatAndPayload(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_02_DeleteCon()
    {
        try
        {
            var trace = await RunAsync("-m", "delete", _server.Uri("/test"));

            AssertRequest(trace, "CON", "DELETE", "test");
            AssertPiggybacked(trace, "2.02");
            AssertContentFormatIfPayload(trace);
        }
        finally
        {
            await RestoreTestAsync();
        }
    }

    [Fact]
    public async Task TD_COAP_CORE_03_PutCon()
    {
        var trace = await RunAsync("-m", "put", "-t", "0", "-e", "TD_COAP_CORE_03 body", _server.Uri("/test"));

        AssertRequest(trace, "CON", "PUT", "test");
        Assert.True(trace.Request.HasOption("Content-Format"), trace.Describe());
        Assert.Contains(trace.Response.Code, new[] { "2.04", "2.01" });
        AssertPiggybacked(trace, trace.Response.Code);
        AssertContentFormatIfPayload(trace);

        // Verify step: the server took the body.
        var get = await RunAsync("-m", "get", _server.Uri("/test"));
        Assert.True(get.Response.Payload == "TD_COAP_CORE_03 body", get.Describe());
    }

    [Fact]
    public async Task TD_COAP_CORE_04_PostCon()
    {
        var trace = await RunAsync("-m", "post", "-t", "0", "-e", "TD_COAP_CORE_04 body", _server.Uri("/test"));

        AssertRequest(trace, "CON", "POST", "test");
        Assert.True(trace.Request.HasOption("Content-Format"), trace.Describe());
        Assert.Contains(trace.Response.Code, new[] { "2.01", "2.04" });
        AssertPiggybacked(trace, trace.Response.Code);
        AssertContentFormatIfPayload(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_05_GetNon()
    {
        var trace = await RunAsync("-N", "-m", "get", _server.Uri("/test"));

        AssertRequest(trace, "NON", "GET", "test");
        AssertNonResponse(trace, "2.05");
        AssertContentFormatAndPayload(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_06_DeleteNon()
    {
        try
        {
            var trace = await RunAsync("-N", "-m", "delete", _server.Uri("/test"));

            AssertRequest(trace, "NON", "DELETE", "test");
            AssertNonResponse(trace, "2.02");
            AssertContentFormatIfPayload(trace);
        }
        finally
        {
            await RestoreTestAsync();
        }
    }

    [Fact]
    public async Task TD_COAP_CORE_07_PutNon()
    {
        var trace = await RunAsync("-N", "-m", "put", "-t", "0", "-e", "TD_COAP_CORE_07 body", _server.Uri("/test"));

        AssertRequest(trace, "NON", "PUT", "test");
        Assert.Contains(trace.Response.Code, new[] { "2.04", "2.01" });
        AssertNonResponse(trace, trace.Response.Code);
        AssertContentFormatIfPayload(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_08_PostNon()
    {
        var trace = await RunAsync("-N", "-m", "post", "-t", "0", "-e", "TD_COAP_CORE_08 body", _server.Uri("/test"));

        AssertRequest(trace, "NON", "POST", "test");
        Assert.Contains(trace.Response.Code, new[] { "2.01", "2.04" });
        AssertNonResponse(trace, trace.Response.Code);
        AssertContentFormatIfPayload(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_09_GetSeparateCon()
    {
        var trace = await RunAsync("-m", "get", _server.Uri("/separate"));

        AssertRequest(trace, "CON", "GET", "separate");
        AssertSeparate(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_10_GetConWithToken()
    {
        var trace = await RunAsync("-m", "get", "-T", "td10tokn", _server.Uri("/test"));

        AssertRequest(trace, "CON", "GET", "test");
        Assert.InRange(trace.Request.Token.Length / 2, 1, 8);
        AssertPiggybacked(trace, "2.05");
        AssertContentFormatAndPayload(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_11_GetSeparateConWithToken()
    {
        var trace = await RunAsync("-m", "get", "-T", "td11tokn", _server.Uri("/separate"));

        AssertRequest(trace, "CON", "GET", "separate");
        Assert.InRange(trace.Request.Token.Length / 2, 1, 8);
        AssertSeparate(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_13_GetSeveralUriPaths()
    {
        var trace = await RunAsync("-m", "get", _server.Uri("/seg1/seg2/seg3"));

        Assert.True(trace.Request.OptionValues("Uri-Path").SequenceEqual(["seg1", "seg2", "seg3"]), trace.Describe());
        AssertPiggybacked(trace, "2.05");
        AssertContentFormatAndPayload(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_14_GetSeveralUriQueries()
    {
        var trace = await RunAsync("-m", "get", _server.Uri("/query?first=1&second=2&third=3"));

        AssertRequest(trace, "CON", "GET", "query");
        Assert.True(trace.Request.OptionValues("Uri-Query").SequenceEqual(["first=1", "second=2", "third=3"]), trace.Describe());
        AssertPiggybacked(trace, "2.05");
        AssertContentFormatAndPayload(trace);

        // Beyond the TD: the server saw the three parameters as three options.
        Assert.True(trace.Response.Payload!.Contains("3 Uri-Query option(s): first=1 second=2 third=3", StringComparison.Ordinal), trace.Describe());
    }

    [Fact]
    public async Task TD_COAP_CORE_17_GetSeparateNon()
    {
        var trace = await RunAsync("-N", "-m", "get", _server.Uri("/separate"));

        AssertRequest(trace, "NON", "GET", "separate");
        Assert.True(!trace.Received.Any(p => p.Type == "ACK"), "A NON request is never acknowledged." + Environment.NewLine + trace.Describe());
        var response = trace.Response;
        Assert.True(response is { Type: "NON", Code: "2.05" } && response.Token == trace.Request.Token, trace.Describe());
        AssertContentFormatAndPayload(trace);
    }

    [Fact]
    public async Task TD_COAP_CORE_18_PostWithSeveralLocationPaths()
    {
        var trace = await RunAsync("-m", "post", "-t", "0", "-e", "TD_COAP_CORE_18 body", _server.Uri("/test"));

        AssertRequest(trace, "CON", "POST", "test");
        AssertPiggybacked(trace, "2.01");
        Assert.True(trace.Response.OptionValues("Location-Path").SequenceEqual(["location1", "location2", "location3"]), trace.Describe());

        // Verify step, beyond the TD: the created resource is where the options say.
        var get = await RunAsync("-m", "get", _server.Uri("/location1/location2/location3"));
        Assert.True(get.Response is { Code: "2.05", Payload: "TD_COAP_CORE_18 body" }, get.Describe());
    }

    [Fact]
    public async Task TD_COAP_CORE_19_PostWithSeveralLocationQueries()
    {
        var trace = await RunAsync("-m", "post", "-t", "0", "-e", "TD_COAP_CORE_19 body", _server.Uri("/location-query"));

        AssertRequest(trace, "CON", "POST", "location-query");
        AssertPiggybacked(trace, "2.01");
        AssertContentFormatIfPayload(trace);
        Assert.True(trace.Response.OptionValues("Location-Query").SequenceEqual(["first=1", "second=2"]), trace.Describe());

        var get = await RunAsync("-m", "get", _server.Uri("/location-query?first=1&second=2"));
        Assert.True(get.Response is { Code: "2.05", Payload: "TD_COAP_CORE_19 body" }, get.Describe());
    }

    [Fact]
    public async Task TD_COAP_CORE_20_GetWithAccept()
    {
        // Part A: text/plain.
        var text = await RunAsync("-m", "get", "-A", "0", _server.Uri("/multi-format"));

        AssertRequest(text, "CON", "GET", "multi-format");
        Assert.True(text.Request.OptionValues("Accept").SequenceEqual(["text/plain"]), text.Describe());
        AssertPiggybacked(text, "2.05");
        Assert.True(text.Response.OptionValues("Content-Format").SequenceEqual(["text/plain"]) && !string.IsNullOrEmpty(text.Response.Payload), text.Describe());

        // Part B: application/xml, in a new exchange.
        var xml = await RunAsync("-m", "get", "-A", "41", _server.Uri("/multi-format"));

        Assert.True(xml.Request.OptionValues("Accept").SequenceEqual(["application/xml"]), xml.Describe());
        Assert.NotEqual(text.Request.MessageId, xml.Request.MessageId);
        AssertPiggybacked(xml, "2.05");
        Assert.True(xml.Response.OptionValues("Content-Format").SequenceEqual(["application/xml"]) && xml.Response.Payload!.StartsWith('<'), xml.Describe());

        // Beyond the TD: a format the resource does not have is 4.06 Not Acceptable (RFC 7252 §5.10.4), not the default.
        var json = await RunAsync("-m", "get", "-A", "50", _server.Uri("/multi-format"));
        Assert.True(json.Response.Code == "4.06", json.Describe());
    }

    [Fact]
    public async Task TD_COAP_CORE_21_GetWithETag()
    {
        // Part A: no ETag in the request, one in the response.
        var first = await RunAsync("-m", "get", _server.Uri("/validate"));

        AssertRequest(first, "CON", "GET", "validate");
        Assert.False(first.Request.HasOption("ETag"), first.Describe());
        AssertPiggybacked(first, "2.05");
        string etag1 = Assert.Single(first.Response.OptionValues("ETag"));
        Assert.False(string.IsNullOrEmpty(first.Response.Payload), first.Describe());

        // Part B: the cached ETag is still valid: 2.03 with it and no payload.
        var valid = await RunAsync("-m", "get", "-O", $"4,{etag1}", _server.Uri("/validate"));

        Assert.True(valid.Request.OptionValues("ETag").SequenceEqual([etag1]), valid.Describe());
        AssertPiggybacked(valid, "2.03");
        Assert.True(valid.Response.OptionValues("ETag").SequenceEqual([etag1]) && valid.Response.Payload is null, valid.Describe());

        // Part C: another client changes the resource; the old ETag now gets 2.05 with a new ETag and the new payload.
        string changed = $"TD_COAP_CORE_21 update {Guid.NewGuid():N}";
        var update = await RunAsync("-m", "put", "-t", "0", "-e", changed, _server.Uri("/validate"));
        Assert.True(update.Response.Code == "2.04", update.Describe());

        var stale = await RunAsync("-m", "get", "-O", $"4,{etag1}", _server.Uri("/validate"));

        AssertPiggybacked(stale, "2.05");
        string etag2 = Assert.Single(stale.Response.OptionValues("ETag"));
        Assert.NotEqual(etag1, etag2);
        Assert.True(stale.Response.Payload == changed && stale.Response.Payload != first.Response.Payload, stale.Describe());
    }

    [Fact]
    public async Task TD_COAP_CORE_22_PutWithIfMatch()
    {
        // Preamble: the client gets the resource and its ETag.
        var get1 = await RunAsync("-m", "get", _server.Uri("/validate"));
        AssertPiggybacked(get1, "2.05");
        string etag1 = Assert.Single(get1.Response.OptionValues("ETag"));

        // Part A: an atomic update with If-Match ETAG1 succeeds.
        string body5 = $"TD_COAP_CORE_22 step 5 {Guid.NewGuid():N}";
        var put5 = await RunAsync("-m", "put", "-t", "0", "-e", body5, "-O", $"1,{etag1}", _server.Uri("/validate"));

        Assert.True(put5.Request.OptionValues("If-Match").SequenceEqual([etag1]), put5.Describe());
        AssertPiggybacked(put5, "2.04");
        AssertContentFormatIfPayload(put5);

        // Part B: the resource has a new ETag and the body of step 5.
        var get9 = await RunAsync("-m", "get", _server.Uri("/validate"));
        AssertPiggybacked(get9, "2.05");
        string etag2 = Assert.Single(get9.Response.OptionValues("ETag"));
        Assert.NotEqual(etag1, etag2);
        Assert.True(get9.Response.Payload == body5, get9.Describe());

        // Another client updates it.
        string body13 = $"TD_COAP_CORE_22 step 13 {Guid.NewGuid():N}";
        var put13 = await RunAsync("-m", "put", "-t", "0", "-e", body13, _server.Uri("/validate"));
        AssertPiggybacked(put13, "2.04");

        // The update assuming the state of step 10 fails with 4.12 and changes nothing.
        var put17 = await RunAsync("-m", "put", "-t", "0", "-e", $"TD_COAP_CORE_22 step 17 {Guid.NewGuid():N}", "-O", $"1,{etag2}", _server.Uri("/validate"));

        AssertPiggybacked(put17, "4.12");
        var after = await RunAsync("-m", "get", _server.Uri("/validate"));
        Assert.True(after.Response.Payload == body13, after.Describe());
    }

    [Fact]
    public async Task TD_COAP_CORE_23_PutWithIfNoneMatch()
    {
        // Pre-test condition: /create1 does not exist (an earlier run of this test may have created it).
        var reset = await RunAsync("-m", "delete", _server.Uri("/create1"));
        Assert.True(reset.Response.Code == "2.02", reset.Describe());

        // Part A: the creation succeeds.
        var create = await RunAsync("-m", "put", "-t", "0", "-e", "TD_COAP_CORE_23 first", "-O", "5", _server.Uri("/create1"));

        AssertRequest(create, "CON", "PUT", "create1");
        Assert.True(create.Request.HasOption("If-None-Match") && create.Request.HasOption("Content-Format"), create.Describe());
        AssertPiggybacked(create, "2.01");
        AssertContentFormatIfPayload(create);

        // Part B: the concurrent creation fails with 4.12 and does not overwrite.
        var again = await RunAsync("-m", "put", "-t", "0", "-e", "TD_COAP_CORE_23 second", "-O", "5", _server.Uri("/create1"));

        Assert.NotEqual(create.Request.MessageId, again.Request.MessageId);
        AssertPiggybacked(again, "4.12");
        var get = await RunAsync("-m", "get", _server.Uri("/create1"));
        Assert.True(get.Response.Payload == "TD_COAP_CORE_23 first", get.Describe());
    }

    private async Task<LibCoapTrace> RunAsync(params string[] arguments)
    {
        var trace = LibCoapTrace.Parse(await _server.RunLibCoapAsync(arguments));
        Assert.False(trace.Result.TimedOut, trace.Describe());
        return trace;
    }

    /// <summary>Puts a body back on /test after a TD deleted it, for the TDs that GET it.</summary>
    private async Task RestoreTestAsync()
    {
        using var client = _server.NewRawClient();
        var response = await client.ExchangeAsync(RawCoapClient.Request(CoapMessageType.Confirmable, CoapCode.Put, "/test")
            .WithContentFormat(CoapContentFormat.TextPlain).WithPayload("restored after a DELETE TD"));
        Assert.True(response.Code == CoapCode.Created || response.Code == CoapCode.Changed, response.ToString());
    }

    /// <summary>The TD's check of the client's stimulus: type, method, and the Uri-Path.</summary>
    private static void AssertRequest(LibCoapTrace trace, string type, string method, string path)
    {
        var request = trace.Request;
        Assert.True(request.Type == type && request.Code == method, $"expected a {type} {method}.{Environment.NewLine}{trace.Describe()}");
        Assert.True(string.Join('/', request.OptionValues("Uri-Path")) == path, $"expected Uri-Path {path}.{Environment.NewLine}{trace.Describe()}");
    }

    /// <summary>A piggybacked response: an ACK with the code, the request's message ID and its token.</summary>
    private static void AssertPiggybacked(LibCoapTrace trace, string code)
    {
        var request = trace.Request;
        var response = trace.Response;
        Assert.True(response.Type == "ACK" && response.Code == code, $"expected an ACK {code}.{Environment.NewLine}{trace.Describe()}");
        Assert.True(response.MessageId == request.MessageId, $"message ID {response.MessageId:x4} is not the request's {request.MessageId:x4}.{Environment.NewLine}{trace.Describe()}");
        Assert.True(response.Token == request.Token, $"token {{{response.Token}}} is not the request's {{{request.Token}}}.{Environment.NewLine}{trace.Describe()}");
    }

    /// <summary>A response to a NON request: a NON of its own (a message ID the server chose), with the request's token.</summary>
    private static void AssertNonResponse(LibCoapTrace trace, string code)
    {
        var response = trace.Response;
        Assert.True(response.Type == "NON" && response.Code == code, $"expected a NON {code}.{Environment.NewLine}{trace.Describe()}");
        Assert.True(response.Token == trace.Request.Token, $"token {{{response.Token}}} is not the request's {{{trace.Request.Token}}}.{Environment.NewLine}{trace.Describe()}");
    }

    /// <summary>
    /// TD_COAP_CORE_09/11: an empty ACK with the request's message ID, then a CON 2.05 with the request's token, a Content-Format
    /// and a payload, which the client acknowledges with an empty ACK of its message ID.
    /// </summary>
    private static void AssertSeparate(LibCoapTrace trace)
    {
        var request = trace.Request;
        var emptyAck = trace.Received.FirstOrDefault(p => p is { Type: "ACK", IsEmpty: true });
        Assert.True(emptyAck is not null && emptyAck.MessageId == request.MessageId && emptyAck.Payload is null && emptyAck.Token.Length == 0,
            $"expected an empty ACK of message ID {request.MessageId:x4}.{Environment.NewLine}{trace.Describe()}");
        var response = trace.Response;
        Assert.True(response is { Type: "CON", Code: "2.05" } && response.Token == request.Token,
            $"expected a separate CON 2.05 with the request's token.{Environment.NewLine}{trace.Describe()}");
        Assert.True(trace.Pdus.ToList().IndexOf(emptyAck) < trace.Pdus.ToList().IndexOf(response), "The empty ACK must come before the response." + Environment.NewLine + trace.Describe());
        AssertContentFormatAndPayload(trace);
        Assert.True(trace.Sent.Any(p => p is { Type: "ACK", IsEmpty: true } && p.MessageId == response.MessageId),
            $"the client did not acknowledge message ID {response.MessageId:x4}.{Environment.NewLine}{trace.Describe()}");
    }

    private static void AssertContentFormatAndPayload(LibCoapTrace trace)
    {
        var response = trace.Response;
        Assert.True(response.HasOption("Content-Format") && !string.IsNullOrEmpty(response.Payload),
            $"expected a Content-Format and a payload.{Environment.NewLine}{trace.Describe()}");
    }

    private static void AssertContentFormatIfPayload(LibCoapTrace trace)
    {
        var response = trace.Response;
        Assert.True(string.IsNullOrEmpty(response.Payload) || response.HasOption("Content-Format"),
            $"a payload needs a Content-Format.{Environment.NewLine}{trace.Describe()}");
    }
}
