using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Coap;
using CoapEnroll.Cmp.Tests.Server;
using CoapEnroll.Testing;
using CoapEnroll.Transport;

namespace CoapEnroll.Cmp.Tests.Client;

/// <summary>
/// A server (or proxy, or the endpoint's requests-in-progress bound) that answers "busy, come back after …" without acting on the
/// request: CoAP 5.03/4.29 with Max-Age, HTTP 503/429 with Retry-After. The client sends the identical message again after that
/// delay, within MaxPollWait, and reports each wait; anything else, or a wait past the bound, stays the transport's error.
/// </summary>
public sealed class CmpBusyRetryTests
{
    private const string Path = "/.well-known/cmp";

    [Fact]
    public async Task Coap_4_29_then_5_03_are_waited_out_and_the_same_message_is_resent()
    {
        await using CmpServerFixture f = await CmpServerFixture.CreateAsync();
        var seen = new List<byte[]>();
        await using CoapServer server = new();
        server.MapPost(Path, async (ctx, ct) =>
        {
            byte[] der = ctx.Request.Payload.ToArray();
            int n;
            lock (seen)
            {
                seen.Add(der);
                n = seen.Count;
            }

            if (n == 1)
            {
                return new CoapMessage { Code = CoapCode.TooManyRequests }.WithPayload("too many of yours").SetUInt(CoapOptionNumber.MaxAge, 1);
            }

            if (n == 2)
            {
                return new CoapMessage { Code = CoapCode.ServiceUnavailable }.WithPayload("busy").SetUInt(CoapOptionNumber.MaxAge, 1);
            }

            CmpExchangeResult result = await f.Server.HandleAsync(der, CmpServerFixture.Context(), ct);
            return new CoapMessage { Code = CoapCode.Changed }.WithContentFormat(CoapContentFormat.PkixCmp).WithPayload(result.Response!);
        });
        IPEndPoint remote = Listen(server);
        var waits = new List<CmpWaiting>();

        await using var transport = new CmpCoapTransport(new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote)), remote, Path);
        var client = new CmpClient(transport, Options(waits, TimeSpan.FromSeconds(30)));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CmpEnrollmentResult enrolled = await client.EnrollAsync(PkiBodyType.Ir, key, new X500DistinguishedName("CN=" + CmpServerFixture.Dev1), null,
            new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);

        Assert.Equal("CN=" + CmpServerFixture.Dev1, enrolled.Certificate.Subject);
        Assert.Equal(1, await f.CertificateCountAsync());

        // The ir three times (the same transactionID and senderNonce; messageTime renewed), then the certConf.
        Assert.Equal(4, seen.Count);
        AssertSameRequest(seen[0], seen[1]);
        AssertSameRequest(seen[0], seen[2]);
        Assert.Equal(PkiBodyType.Ir, PkiMessageCodec.Decode(seen[0]).Message!.Body.BodyType);
        Assert.Equal(PkiBodyType.CertConf, PkiMessageCodec.Decode(seen[3]).Message!.Body.BodyType);
        Assert.Collection(waits,
            w => Assert.True(w.Resend && w.CheckAfter == TimeSpan.FromSeconds(1) && w.Reason == "4.29: too many of yours", w.ToString()),
            w => Assert.True(w.Resend && w.CheckAfter == TimeSpan.FromSeconds(1) && w.Reason == "5.03: busy", w.ToString()));
    }

    [Fact]
    public async Task Coap_busy_past_MaxPollWait_is_the_transport_error_and_no_Max_Age_means_60_s()
    {
        int requests = 0;
        uint? maxAge = 1;
        await using CoapServer server = new();
        server.MapPost(Path, (_, _) =>
        {
            Interlocked.Increment(ref requests);
            var busy = new CoapMessage { Code = CoapCode.TooManyRequests };
            return ValueTask.FromResult(maxAge is { } age ? busy.SetUInt(CoapOptionNumber.MaxAge, age) : busy);
        });
        IPEndPoint remote = Listen(server);
        var waits = new List<CmpWaiting>();
        await using var transport = new CmpCoapTransport(new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote)), remote, Path);
        var time = new ManualTimeProvider();
        var client = new CmpClient(transport, Options(waits, TimeSpan.FromSeconds(1.5)), time);

        // Max-Age 1 with a bound of 1.5 s: one resend at 1 s, then the second refusal would wait past the bound.
        var ex = await Assert.ThrowsAsync<CmpTransportException>(() => time.RunAsync(client.GeneralAsync([CmpInfoTypes.CaCerts], Timeout())));
        Assert.Equal("4.29", ex.Status);
        Assert.Equal(TimeSpan.FromSeconds(1), ex.RetryAfter);
        Assert.Contains("gave up: waiting 1 s more would pass the 1.5 s this client waits in all", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, Volatile.Read(ref requests));
        Assert.Single(waits);
        Assert.Equal(TimeSpan.FromSeconds(1), time.Elapsed);

        // No Max-Age: RFC 7252's default of 60 s, beyond the bound at once.
        maxAge = null;
        ex = await Assert.ThrowsAsync<CmpTransportException>(() => time.RunAsync(client.GeneralAsync([CmpInfoTypes.CaCerts], Timeout())));
        Assert.Equal(TimeSpan.FromSeconds(60), ex.RetryAfter);
        Assert.Equal(3, Volatile.Read(ref requests));
        Assert.Single(waits);

        // Max-Age 0 would be a tight loop: the client waits at least a second (the bound is one operation's, so a new genm may
        // wait again).
        maxAge = 0;
        ex = await Assert.ThrowsAsync<CmpTransportException>(() => time.RunAsync(client.GeneralAsync([CmpInfoTypes.CaCerts], Timeout())));
        Assert.Equal(TimeSpan.Zero, ex.RetryAfter);
        Assert.Equal(5, Volatile.Read(ref requests));
        Assert.Equal(TimeSpan.FromSeconds(1), waits[^1].CheckAfter);
    }

    [Fact]
    public async Task Coap_other_errors_are_not_resent()
    {
        int requests = 0;
        await using CoapServer server = new();
        server.MapPost(Path, (_, _) =>
        {
            Interlocked.Increment(ref requests);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.InternalServerError }.SetUInt(CoapOptionNumber.MaxAge, 1));
        });
        IPEndPoint remote = Listen(server);
        await using var transport = new CmpCoapTransport(new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote)), remote, Path);
        var client = new CmpClient(transport, Options([], TimeSpan.FromSeconds(30)));
        var ex = await Assert.ThrowsAsync<CmpTransportException>(() => client.GeneralAsync([CmpInfoTypes.CaCerts], new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token));
        Assert.Equal("5.00", ex.Status);
        Assert.Null(ex.RetryAfter);
        Assert.Equal(1, Volatile.Read(ref requests));
    }

    [Fact]
    public async Task Http_503_with_Retry_After_is_waited_out_without_it_is_an_error()
    {
        var handler = new BusyHandler();
        using var http = new HttpClient(handler);
        var waits = new List<CmpWaiting>();
        var time = new ManualTimeProvider();
        var client = new CmpClient(new CmpHttpTransport(http, new Uri("http://cmp.invalid/pkix/")), Options(waits, TimeSpan.FromSeconds(30)), time);

        handler.Busy.Enqueue((HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(2), null));
        handler.Busy.Enqueue((HttpStatusCode.TooManyRequests, TimeSpan.Zero, null));
        // A date 3 s after the server's own Date header, whatever this machine's clock says.
        handler.Busy.Enqueue((HttpStatusCode.ServiceUnavailable, null, new DateTimeOffset(2001, 2, 3, 4, 5, 9, TimeSpan.Zero)));
        await time.RunAsync(client.GeneralAsync([CmpInfoTypes.CaCerts], Timeout()));
        Assert.Equal(4, handler.Bodies.Count);
        AssertSameRequest(handler.Bodies[0], handler.Bodies[1]);
        AssertSameRequest(handler.Bodies[0], handler.Bodies[3]);
        Assert.Equal([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)], waits.Select(w => w.CheckAfter));
        Assert.Equal(TimeSpan.FromSeconds(6), time.Elapsed);

        // messageTime follows the client's clock: renewed on each resend, 2, 3 and 6 s after the first.
        DateTimeOffset MessageTime(int i) => PkiMessageCodec.Decode(handler.Bodies[i]).Message!.Header.MessageTime!.Value;
        Assert.Equal([2, 3, 6], Enumerable.Range(1, 3).Select(i => (MessageTime(i) - MessageTime(0)).TotalSeconds));

        handler.Busy.Enqueue((HttpStatusCode.ServiceUnavailable, null, null));
        var ex = await Assert.ThrowsAsync<CmpTransportException>(() => time.RunAsync(client.GeneralAsync([CmpInfoTypes.CaCerts], Timeout())));
        Assert.Equal("503", ex.Status);
        Assert.Null(ex.RetryAfter);
        Assert.Equal(5, handler.Bodies.Count);

        // Cancelled while waiting: the wait ends with the cancellation, nothing more is sent.
        handler.Busy.Enqueue((HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(10), null));
        using var cancel = new CancellationTokenSource();
        Task waiting = client.GeneralAsync([CmpInfoTypes.CaCerts], cancel.Token);
        while (time.ArmedOneShotTimers == 0 && !waiting.IsCompleted)
        {
            await Task.Delay(10);
        }

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(6, handler.Bodies.Count);
    }

    [Fact]
    public async Task The_certConf_of_an_issued_certificate_has_a_wait_budget_of_its_own()
    {
        // The ir waits 4 s of a 5 s budget; the certConf is then answered busy for 2 s. Had it shared the budget, the client would
        // give up a certificate the server revokes when it is not confirmed.
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=fake CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var sent = new List<PkiBodyType>();
        var transport = new ScriptedTransport(request =>
        {
            sent.Add(request.Body.BodyType);
            if (sent.Count(t => t == request.Body.BodyType) == 1 && request.Body.BodyType is PkiBodyType.Ir or PkiBodyType.CertConf)
            {
                throw new CmpTransportException("CoAP 5.03", "5.03", "busy", true, TimeSpan.FromSeconds(request.Body.BodyType == PkiBodyType.Ir ? 4 : 2));
            }

            PkiBody body = request.Body.BodyType == PkiBodyType.Ir
                ? new CertRepMessageBody(PkiBodyType.Ip)
                {
                    Responses =
                    [
                        new CertResponse
                        {
                            CertReqId = 0,
                            Status = new PkiStatusInfo { Status = (int)PkiStatus.Accepted },
                            CertifiedKeyPair = new CertifiedKeyPair
                            {
                                Certificate = new CertificateRequest("CN=" + CmpServerFixture.Dev1, key, HashAlgorithmName.SHA256)
                                    .Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3]).RawData,
                            },
                        },
                    ],
                }
                : new PkiConfBody();
            return new PkiMessage { Header = CmpRequests.Header(new X500DistinguishedName("CN=fake CA"), null, Encoding.UTF8.GetBytes("fake"),
                request.Header.TransactionId!.Value, request.Header.SenderNonce), Body = body };
        });
        var time = new ManualTimeProvider();
        var waits = new List<CmpWaiting>();
        var client = new CmpClient(transport, Options(waits, TimeSpan.FromSeconds(5)), time);
        CmpEnrollmentResult result = await time.RunAsync(client.EnrollAsync(PkiBodyType.Ir, key, new X500DistinguishedName("CN=" + CmpServerFixture.Dev1), null, Timeout()));
        Assert.Equal("CN=" + CmpServerFixture.Dev1, result.Certificate.Subject);
        Assert.Equal([PkiBodyType.Ir, PkiBodyType.Ir, PkiBodyType.CertConf, PkiBodyType.CertConf], sent);
        Assert.Equal(TimeSpan.FromSeconds(6), time.Elapsed);
    }

    [Fact]
    public async Task A_resend_the_server_recognizes_is_a_refusal_that_says_so()
    {
        // A proxy said busy although its upstream had the first copy: the upstream refuses the second as a replay.
        var handler = new BusyHandler { ReplayAfterBusy = true };
        using var http = new HttpClient(handler);
        var time = new ManualTimeProvider();
        var client = new CmpClient(new CmpHttpTransport(http, new Uri("http://cmp.invalid/pkix/")), Options([], TimeSpan.FromSeconds(30)), time);
        handler.Busy.Enqueue((HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(1), null));
        var e = await Assert.ThrowsAsync<CmpException>(() => time.RunAsync(client.GeneralAsync([CmpInfoTypes.CaCerts], Timeout())));
        Assert.True(e.IsRefusal);
        Assert.Equal(PkiFailureInfo.BadSenderNonce, e.FailureInfo);
        Assert.Contains("sent again after a busy answer: an earlier copy may have reached the server", e.Message, StringComparison.Ordinal);

        // The same refusal to a first send says nothing of the kind.
        e = await Assert.ThrowsAsync<CmpException>(() => time.RunAsync(client.GeneralAsync([CmpInfoTypes.CaCerts], Timeout())));
        Assert.Equal(PkiFailureInfo.BadSenderNonce, e.FailureInfo);
        Assert.DoesNotContain("earlier copy", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Busy_waits_are_spread_at_random_by_the_jitter_and_never_past_the_budget()
    {
        // Clients refused together with the same Max-Age must not all come back at the same moment.
        int refusals = 40;
        var transport = new ScriptedTransport(request =>
        {
            if (Interlocked.Decrement(ref refusals) >= 0)
            {
                throw new CmpTransportException("CoAP 5.03", "5.03", "busy", true, TimeSpan.FromSeconds(2));
            }

            return new PkiMessage
            {
                Header = CmpRequests.Header(new X500DistinguishedName("CN=fake CA"), null, Encoding.UTF8.GetBytes("fake"),
                    request.Header.TransactionId!.Value, request.Header.SenderNonce),
                Body = new GenMsgBody(PkiBodyType.Genp) { Items = [new InfoTypeAndValue { InfoType = CmpInfoTypes.CaCerts }] },
            };
        });
        var time = new ManualTimeProvider();
        var waits = new List<CmpWaiting>();
        var client = new CmpClient(transport, Options(waits, TimeSpan.FromHours(1), jitter: 0.5), time);
        await time.RunAsync(client.GeneralAsync([CmpInfoTypes.CaCerts], Timeout()));
        Assert.Equal(40, waits.Count);
        Assert.All(waits, w => Assert.InRange(w.CheckAfter, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)));
        Assert.True(waits.Select(w => w.CheckAfter).Distinct().Count() > 10, string.Join(", ", waits.Select(w => w.CheckAfter)));
        Assert.Equal(waits.Aggregate(TimeSpan.Zero, (sum, w) => sum + w.CheckAfter), time.Elapsed);

        // A budget of 2.2 s: the first wait fits but its jitter is cut at the budget, the second does not fit at all. On a clock that
        // moves between two readings (as the real one does) a wait cut exactly at the budget must still be taken, every time.
        for (int run = 0; run < 10; run++)
        {
            refusals = 40;
            waits.Clear();
            var manual = new ManualTimeProvider();
            client = new CmpClient(transport, Options(waits, TimeSpan.FromSeconds(2.2), jitter: 1), new MovingClock(manual));
            await Assert.ThrowsAsync<CmpTransportException>(() => manual.RunAsync(client.GeneralAsync([CmpInfoTypes.CaCerts], Timeout())));
            CmpWaiting only = Assert.Single(waits);
            Assert.InRange(only.CheckAfter, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2.2));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => new CmpClient(transport, Options([], TimeSpan.FromSeconds(1), jitter: 1.5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CmpClient(transport, Options([], TimeSpan.FromSeconds(1), jitter: double.NaN)));
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

    /// <summary>The same request sent again: same body, transactionID and senderNonce.</summary>
    private static void AssertSameRequest(byte[] first, byte[] again)
    {
        PkiMessage a = PkiMessageCodec.Decode(first).Message!;
        PkiMessage b = PkiMessageCodec.Decode(again).Message!;
        Assert.Equal(a.Body.BodyType, b.Body.BodyType);
        Assert.Equal(a.Header.TransactionId!.Value.ToArray(), b.Header.TransactionId!.Value.ToArray());
        Assert.Equal(a.Header.SenderNonce!.Value.ToArray(), b.Header.SenderNonce!.Value.ToArray());
    }

    private static IPEndPoint Listen(CoapServer server)
    {
        CoapEndpoint endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        return new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)endpoint.LocalEndPoint).Port);
    }

    /// <summary>Without jitter unless asked: most tests check the exact waits.</summary>
    private static CmpClientOptions Options(List<CmpWaiting> waits, TimeSpan maxPollWait, double jitter = 0) => new()
    {
        Reference = CmpServerFixture.Dev1,
        SharedSecret = Encoding.UTF8.GetBytes(CmpServerFixture.Dev1Secret),
        MaxPollWait = maxPollWait,
        Waiting = new Recorder(waits),
        BusyJitter = jitter,
    };

    /// <summary>Answers each decoded request with what the script makes of it (MAC-protected with dev-1's secret), or its exception.</summary>
    private sealed class ScriptedTransport(Func<PkiMessage, PkiMessage> answer) : ICmpTransport
    {
        public Task<byte[]> SendAsync(byte[] der, bool endsTransaction, CancellationToken cancellationToken)
        {
            PkiMessage reply = answer(PkiMessageCodec.Decode(der).Message!);
            return Task.FromResult(PkiMessageCodec.Encode(CmpProtection.ProtectWithMac(reply, Encoding.UTF8.GetBytes(CmpServerFixture.Dev1Secret), CmpMacParameters.PasswordBasedMac())));
        }
    }

    /// <summary>A manual clock that moves on by a millisecond each time it is read, as a real one does between two readings.</summary>
    private sealed class MovingClock(ManualTimeProvider inner) : TimeProvider
    {
        private long _reads;

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override long GetTimestamp() => inner.GetTimestamp() + (Interlocked.Increment(ref _reads) * inner.TimestampFrequency / 1000);

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            inner.CreateTimer(callback, state, dueTime, period);
    }

    /// <summary>Synchronous, unlike <see cref="Progress{T}"/>: the list is complete when the call returns.</summary>
    private sealed class Recorder(List<CmpWaiting> waits) : IProgress<CmpWaiting>
    {
        public void Report(CmpWaiting value)
        {
            lock (waits)
            {
                waits.Add(value);
            }
        }
    }

    /// <summary>Answers each queued refusal (with Retry-After as seconds when given) in turn, then a MAC-protected genp.</summary>
    private sealed class BusyHandler : HttpMessageHandler
    {
        public Queue<(HttpStatusCode Status, TimeSpan? RetryAfter, DateTimeOffset? RetryAt)> Busy { get; } = new();

        public List<byte[]> Bodies { get; } = [];

        /// <summary>Answer every request that is not refused busy with an error body, badSenderNonce, as a server that saw it before.</summary>
        public bool ReplayAfterBusy { get; init; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            byte[] der = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            Bodies.Add(der);
            if (Busy.TryDequeue(out var busy))
            {
                var refusal = new HttpResponseMessage(busy.Status) { Content = new StringContent("busy") };
                if (busy.RetryAfter is { } after)
                {
                    refusal.Headers.RetryAfter = new RetryConditionHeaderValue(after);
                }
                else if (busy.RetryAt is { } at)
                {
                    refusal.Headers.RetryAfter = new RetryConditionHeaderValue(at);
                    refusal.Headers.Date = at - TimeSpan.FromSeconds(3);
                }

                return refusal;
            }

            PkiMessage genm = PkiMessageCodec.Decode(der).Message!;
            PkiHeader header = CmpRequests.Header(new X500DistinguishedName("CN=fake CA"), null, Encoding.UTF8.GetBytes("fake"),
                genm.Header.TransactionId!.Value, genm.Header.SenderNonce);
            PkiBody body = ReplayAfterBusy
                ? new ErrorBody { StatusInfo = new PkiStatusInfo { Status = (int)PkiStatus.Rejection, FailInfo = (int)PkiFailureInfo.BadSenderNonce, StatusString = ["replayed message"] } }
                : new GenMsgBody(PkiBodyType.Genp) { Items = [new InfoTypeAndValue { InfoType = CmpInfoTypes.CaCerts }] };
            PkiMessage reply = CmpProtection.ProtectWithMac(new PkiMessage { Header = header, Body = body },
                Encoding.UTF8.GetBytes(CmpServerFixture.Dev1Secret), CmpMacParameters.PasswordBasedMac());
            var content = new ByteArrayContent(PkiMessageCodec.Encode(reply));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/pkixcmp");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
        }
    }
}
