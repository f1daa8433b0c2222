using System.Formats.Asn1;
using System.Net;
using System.Net.Http.Headers;
using CoapEnroll.Coap;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cmp.Tests.Transports;

/// <summary>
/// <see cref="CmpCoapProxy"/> on its own, with an HTTP handler the test scripts: the URI mapping, what reaches the upstream, the
/// CoAP code for every kind of upstream answer or failure, the local refusals, the bounds, and the log line for each failure.
/// (The same proxy in front of <c>openssl cmp</c>'s mock, with libcoap on the wire, is in the CLI tests.)
/// </summary>
public sealed class CmpCoapProxyTests : IAsyncDisposable
{
    private static readonly IPEndPoint s_peer = new(IPAddress.Loopback, 40001);
    private static readonly byte[] s_message = Sequence([0xC0, 0xFF, 0xEE]);

    private readonly CoapEndpoint _endpoint = new(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
    private readonly LogCollector _log = new();
    private readonly List<(HttpMethod Method, Uri Uri, string? ContentType, byte[] Body)> _seen = [];

    public async ValueTask DisposeAsync() => await _endpoint.DisposeAsync();

    private CmpCoapProxy Proxy(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> upstream, PeerConcurrencyLimiter? limiter = null,
        TimeSpan? timeout = null, int maxResponseBytes = 1024, string uri = "http://ca.test:8080/.well-known/cmp")
    {
        var http = new HttpClient(new Stub(this, upstream)) { Timeout = Timeout.InfiniteTimeSpan };
        return new CmpCoapProxy(http, new CmpCoapProxyOptions
        {
            Upstream = new Uri(uri),
            Timeout = timeout ?? TimeSpan.FromSeconds(5),
            MaxResponseBytes = maxResponseBytes,
        }, limiter ?? new PeerConcurrencyLimiter(8, 2), _log);
    }

    private Task<CoapMessage> SendAsync(CmpCoapProxy proxy, CoapMessage? request = null, string? label = null, string? operation = null, EndPoint? peer = null) =>
        proxy.ForwardAsync(new CoapRequestContext(request ?? Post(s_message), peer ?? s_peer, _endpoint), label, operation, CancellationToken.None).AsTask();

    private static CoapMessage Post(byte[] payload) =>
        CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/cmp").WithContentFormat(CoapContentFormat.PkixCmp).WithPayload(payload);

    private static Task<HttpResponseMessage> Answer(HttpStatusCode status, byte[]? body = null, string? mediaType = "application/pkixcmp", Action<HttpResponseMessage>? configure = null)
    {
        var response = new HttpResponseMessage(status) { Content = new ByteArrayContent(body ?? []) };
        if (mediaType is not null)
        {
            response.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        }

        configure?.Invoke(response);
        return Task.FromResult(response);
    }

    [Fact]
    public void Paths_map_onto_the_RFC_9811_layout_below_the_upstream_URI()
    {
        CmpCoapProxy proxy = Proxy((_, _) => Answer(HttpStatusCode.OK));
        Assert.Equal("http://ca.test:8080/.well-known/cmp", proxy.MapUri(null, null).ToString());
        Assert.Equal("http://ca.test:8080/.well-known/cmp/initialization", proxy.MapUri(null, "ir").ToString());
        Assert.Equal("http://ca.test:8080/.well-known/cmp/p/site%207/getcacerts", proxy.MapUri("site 7", "crts").AbsoluteUri);
        Assert.Equal("http://ca.test:8080/.well-known/cmp/p/a", proxy.MapUri("a", null).ToString());
        Assert.Throws<ArgumentException>(() => proxy.MapUri(null, "bogus"));

        // The root goes exactly as configured (openssl's mock wants "/pkix/", slash included); the others sit below it.
        CmpCoapProxy pkix = Proxy((_, _) => Answer(HttpStatusCode.OK), uri: "http://127.0.0.1:1/pkix/");
        Assert.Equal("http://127.0.0.1:1/pkix/", pkix.MapUri(null, null).ToString());
        Assert.Equal("http://127.0.0.1:1/pkix/p/x/revocation", pkix.MapUri("x", "rr").ToString());

        // Every CoAP operation label has its HTTP counterpart (RFC 9483 §6).
        Assert.All(CmpCoapResources.OperationLabels, label => Assert.True(CmpCoapProxy.HttpOperationLabels.ContainsKey(label), label));
    }

    [Fact]
    public async Task The_message_is_POSTed_unchanged_and_the_answer_is_a_2_04_with_Content_Format_259()
    {
        byte[] answer = Sequence([1, 2, 3, 4]);
        CmpCoapProxy proxy = Proxy((_, _) => Answer(HttpStatusCode.OK, answer, "application/pkixcmp; charset=binary"));
        CoapMessage response = await SendAsync(proxy, label: "p1", operation: "kur");

        Assert.Equal(CoapCode.Changed, response.Code);
        Assert.Equal(CoapContentFormat.PkixCmp, response.ContentFormat);
        Assert.Equal(answer, response.Payload.ToArray());
        var (method, uri, contentType, body) = Assert.Single(_seen);
        Assert.Equal(HttpMethod.Post, method);
        Assert.Equal("http://ca.test:8080/.well-known/cmp/p/p1/keyupdate", uri.ToString());
        Assert.Equal("application/pkixcmp", contentType);
        Assert.Equal(s_message, body);
        Assert.DoesNotContain(_log.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task A_transactions_last_message_asks_the_upstream_to_close_the_connection()
    {
        var close = new List<bool?>();
        CmpCoapProxy proxy = Proxy((request, _) =>
        {
            close.Add(request.Headers.ConnectionClose);
            return Answer(HttpStatusCode.OK, Sequence([1]));
        });

        static byte[] Message(PkiBodyType body) => PkiMessageCodec.Encode(new PkiMessage
        {
            Header = CmpRequests.Header(new System.Security.Cryptography.X509Certificates.X500DistinguishedName("CN=device"), null, null,
                CmpRequests.NewId()),
            Body = body == PkiBodyType.Genm ? new GenMsgBody(PkiBodyType.Genm) { Items = [] } : new PollReqBody { CertReqIds = [0] },
        });

        await SendAsync(proxy, Post(Message(PkiBodyType.PollReq)));
        await SendAsync(proxy, Post(Message(PkiBodyType.Genm)));
        await SendAsync(proxy, Post(s_message));

        // pollReq continues its transaction; genm ends it; what does not decode goes unchanged with no opinion on the connection.
        Assert.Equal([null, true, null], close);
    }

    public static TheoryData<int, string> StatusMapping => new()
    {
        { 400, "4.00" }, { 401, "4.01" }, { 403, "4.03" }, { 404, "4.04" }, { 405, "4.05" }, { 406, "4.06" }, { 409, "4.00" },
        { 412, "4.12" }, { 413, "4.13" }, { 415, "4.15" }, { 429, "4.29" }, { 500, "5.02" }, { 501, "5.01" }, { 502, "5.02" },
        { 503, "5.03" }, { 504, "5.04" }, { 505, "5.02" }, { 204, "5.02" }, { 302, "5.02" },
    };

    [Theory]
    [MemberData(nameof(StatusMapping))]
    public async Task An_upstream_status_without_a_PKIMessage_maps_to_its_CoAP_code_with_a_log_line(int status, string expected)
    {
        CmpCoapProxy proxy = Proxy((_, _) => Answer((HttpStatusCode)status, "nope"u8.ToArray(), "text/plain"));
        CoapMessage response = await SendAsync(proxy);

        Assert.Equal(expected, $"{response.Code.Class}.{response.Code.Detail:00}");
        Assert.NotEqual(CoapCode.InternalServerError, response.Code);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), response.PayloadText, StringComparison.Ordinal);
        var entry = Assert.Single(_log.Entries, e => e.EventId.Id == 440);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains(expected, entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_After_of_a_503_becomes_Max_Age()
    {
        CmpCoapProxy proxy = Proxy((_, _) => Answer(HttpStatusCode.ServiceUnavailable, null, null, r => r.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7))));
        CoapMessage response = await SendAsync(proxy);
        Assert.Equal(CoapCode.ServiceUnavailable, response.Code);
        Assert.Equal(7u, response.MaxAge);
    }

    [Fact]
    public async Task A_Retry_After_date_is_read_against_the_upstreams_Date_not_the_proxys_clock()
    {
        // An upstream whose clock says 2001: "retry at 04:05:09" with "Date: 04:05:00" means 9 s, whatever this machine's clock says.
        var at = new DateTimeOffset(2001, 2, 3, 4, 5, 9, TimeSpan.Zero);
        CmpCoapProxy proxy = Proxy((_, _) => Answer(HttpStatusCode.ServiceUnavailable, null, null, r =>
        {
            r.Headers.RetryAfter = new RetryConditionHeaderValue(at);
            r.Headers.Date = at - TimeSpan.FromSeconds(9);
        }));
        CoapMessage response = await SendAsync(proxy);
        Assert.Equal(CoapCode.ServiceUnavailable, response.Code);
        Assert.Equal(9u, response.MaxAge);
    }

    [Fact]
    public async Task A_CMP_error_message_with_an_HTTP_error_status_is_passed_on_as_a_2_04()
    {
        byte[] error = Sequence([0xEE]);
        CmpCoapProxy proxy = Proxy((_, _) => Answer(HttpStatusCode.BadRequest, error));
        CoapMessage response = await SendAsync(proxy);
        Assert.Equal(CoapCode.Changed, response.Code);
        Assert.Equal(error, response.Payload.ToArray());
        Assert.Contains(_log.Entries, e => e.EventId.Id == 441 && e.Message.Contains("400", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Answers_that_are_no_PKIMessage_are_5_02()
    {
        Assert.Equal(CoapCode.BadGateway, (await SendAsync(Proxy((_, _) => Answer(HttpStatusCode.OK, "<html/>"u8.ToArray(), "text/html")))).Code);
        Assert.Equal(CoapCode.BadGateway, (await SendAsync(Proxy((_, _) => Answer(HttpStatusCode.OK, s_message, null)))).Code);
        Assert.Equal(CoapCode.BadGateway, (await SendAsync(Proxy((_, _) => Answer(HttpStatusCode.OK, [])))).Code);
        Assert.Equal(CoapCode.BadGateway, (await SendAsync(Proxy((_, _) => Answer(HttpStatusCode.OK, [0x30, 0x05, 0x01])))).Code);
        Assert.Equal(CoapCode.BadGateway, (await SendAsync(Proxy((_, _) => Answer(HttpStatusCode.OK, Sequence(new byte[2000]))))).Code);
        Assert.Equal(5, _log.Entries.Count(e => e.EventId.Id == 440 && e.Level == LogLevel.Warning));
    }

    [Fact]
    public async Task An_unreachable_upstream_is_5_03_with_Max_Age_and_a_TLS_failure_5_02()
    {
        CoapMessage refused = await SendAsync(Proxy((_, _) => throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (ca.test:8080)")));
        Assert.Equal(CoapCode.ServiceUnavailable, refused.Code);
        Assert.Equal(10u, refused.MaxAge);
        Assert.Contains(_log.Entries, e => e.EventId.Id == 440 && e.Message.Contains("Connection refused", StringComparison.Ordinal));

        CoapMessage tls = await SendAsync(Proxy((_, _) => throw new HttpRequestException(HttpRequestError.SecureConnectionError, "The remote certificate is invalid")));
        Assert.Equal(CoapCode.BadGateway, tls.Code);
        Assert.Contains("TLS", tls.PayloadText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_that_never_answers_is_5_04_at_the_timeout()
    {
        CmpCoapProxy proxy = Proxy(async (_, ct) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            throw new InvalidOperationException("unreachable");
        }, timeout: TimeSpan.FromMilliseconds(300));
        var started = System.Diagnostics.Stopwatch.StartNew();
        CoapMessage response = await SendAsync(proxy);
        Assert.Equal(CoapCode.GatewayTimeout, response.Code);
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.Contains(_log.Entries, e => e.EventId.Id == 440 && e.Message.Contains("no answer within 0.3 s", StringComparison.Ordinal));
    }

    public static TheoryData<int?, int?, byte[], string> LocalRefusals => new()
    {
        { 0, null, s_message, "4.15" },
        { 60, null, s_message, "4.15" },
        { null, 0, s_message, "4.06" },
        { CoapContentFormat.PkixCmp, null, [], "4.00" },
        { CoapContentFormat.PkixCmp, null, "junk"u8.ToArray(), "4.00" },
        { CoapContentFormat.PkixCmp, null, [.. s_message, 0x00], "4.00" },
        { CoapContentFormat.PkixCmp, null, [0x02, 0x01, 0x05], "4.00" },
    };

    [Theory]
    [MemberData(nameof(LocalRefusals))]
    public async Task What_no_CMP_server_could_accept_is_refused_here_and_costs_the_upstream_nothing(int? contentFormat, int? accept, byte[] payload, string expected)
    {
        CoapMessage request = CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/cmp").WithPayload(payload);
        request = contentFormat is { } f ? request.WithContentFormat(f) : request;
        request = accept is { } a ? request.WithAccept(a) : request;
        CoapMessage response = await SendAsync(Proxy((_, _) => Answer(HttpStatusCode.OK, s_message)), request);
        Assert.Equal(expected, $"{response.Code.Class}.{response.Code.Detail:00}");
        Assert.Empty(_seen);
    }

    [Fact]
    public async Task Dot_segment_labels_are_4_04_not_a_way_to_another_upstream_path()
    {
        CmpCoapProxy proxy = Proxy((_, _) => Answer(HttpStatusCode.OK, s_message));
        Assert.Equal(CoapCode.NotFound, (await SendAsync(proxy, label: "..", operation: "ir")).Code);
        Assert.Equal(CoapCode.NotFound, (await SendAsync(proxy, label: ".")).Code);
        Assert.Empty(_seen);
        Assert.Equal(CoapCode.Changed, (await SendAsync(proxy, label: "..x")).Code);
        Assert.Equal("http://ca.test:8080/.well-known/cmp/p/..x", Assert.Single(_seen).Uri.AbsoluteUri);
    }

    [Fact]
    public async Task Content_Format_42_and_none_are_forwarded_as_RFC_9482_allows()
    {
        CmpCoapProxy proxy = Proxy((_, _) => Answer(HttpStatusCode.OK, s_message));
        Assert.Equal(CoapCode.Changed, (await SendAsync(proxy, CoapMessage.CreateRequest(CoapCode.Post, "/x").WithContentFormat(CoapContentFormat.OctetStream).WithPayload(s_message))).Code);
        Assert.Equal(CoapCode.Changed, (await SendAsync(proxy, CoapMessage.CreateRequest(CoapCode.Post, "/x").WithPayload(s_message))).Code);
        Assert.Equal(2, _seen.Count);
    }

    [Fact]
    public async Task One_peer_over_its_bound_gets_4_29_while_others_pass_until_the_total_bound_gives_5_03()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var limiter = new PeerConcurrencyLimiter(maxTotal: 2, maxPerPeer: 1);
        CmpCoapProxy proxy = Proxy(async (_, _) =>
        {
            await release.Task;
            return await Answer(HttpStatusCode.OK, s_message);
        }, limiter);
        var other = new IPEndPoint(IPAddress.Loopback, 40002);

        Task<CoapMessage> first = SendAsync(proxy);
        CoapMessage second = await SendAsync(proxy);
        Assert.Equal(CoapCode.TooManyRequests, second.Code);
        Assert.NotNull(second.MaxAge);

        Task<CoapMessage> fromOther = SendAsync(proxy, peer: other);
        CoapMessage third = await SendAsync(proxy, peer: new IPEndPoint(IPAddress.Loopback, 40003));
        Assert.Equal(CoapCode.ServiceUnavailable, third.Code);
        Assert.NotNull(third.MaxAge);

        release.SetResult();
        Assert.Equal(CoapCode.Changed, (await first).Code);
        Assert.Equal(CoapCode.Changed, (await fromOther).Code);
        Assert.Equal(0, limiter.Current);
        Assert.Equal(2, _seen.Count);
    }

    [Fact]
    public async Task Every_answer_is_counted_by_its_CoAP_code_and_upstream_time_is_measured()
    {
        var counted = new List<string>();
        var timed = new List<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "CoapEnroll.Cmp" && instrument.Name.StartsWith("cmp.proxy.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };

        // Other tests of this class may count at the same time, so the checks are "contains"; a local refusal (4.15) is never
        // timed, by any test.
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) => Record(counted, tags));
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) => Record(timed, tags));
        listener.Start();

        var peer = new IPEndPoint(IPAddress.Loopback, 40009);
        await SendAsync(Proxy((_, _) => Answer(HttpStatusCode.OK, s_message)), peer: peer);
        await SendAsync(Proxy((_, _) => Answer(HttpStatusCode.Forbidden, null, "text/plain")), peer: peer);
        await SendAsync(Proxy((_, _) => Answer(HttpStatusCode.OK, s_message)), CoapMessage.CreateRequest(CoapCode.Post, "/x").WithContentFormat(0).WithPayload(s_message), peer: peer);

        lock (counted)
        {
            Assert.Contains("2.04", counted);
            Assert.Contains("4.03", counted);
            Assert.Contains("4.15", counted);
            Assert.Contains("2.04", timed);
            Assert.Contains("4.03", timed);
            Assert.DoesNotContain("4.15", timed);
        }

        static void Record(List<string> into, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "code")
                {
                    lock (into)
                    {
                        into.Add((string)tag.Value!);
                    }
                }
            }
        }
    }

    private static byte[] Sequence(byte[] content)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteOctetString(content);
        }

        return writer.Encode();
    }

    private sealed class Stub(CmpCoapProxyTests test, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            byte[] body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            lock (test._seen)
            {
                test._seen.Add((request.Method, request.RequestUri!, request.Content?.Headers.ContentType?.MediaType, body));
            }

            return await respond(request, cancellationToken);
        }
    }

    private sealed class LogCollector : ILogger<CmpCoapProxy>
    {
        private readonly List<(LogLevel Level, EventId EventId, string Message)> _entries = [];

        public IReadOnlyList<(LogLevel Level, EventId EventId, string Message)> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries)
            {
                _entries.Add((logLevel, eventId, formatter(state, exception)));
            }
        }
    }
}
