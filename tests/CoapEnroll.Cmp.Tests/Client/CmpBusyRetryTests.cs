using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Coap;
using CoapEnroll.Cmp.Tests.Server;
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

        // ir three times, byte for byte (nonce, transactionID, protection), then the certConf.
        Assert.Equal(4, seen.Count);
        Assert.Equal(seen[0], seen[1]);
        Assert.Equal(seen[0], seen[2]);
        Assert.Equal(PkiBodyType.CertConf, PkiMessageCodec.Decode(seen[3]).Message!.Body.BodyType);
        Assert.Collection(waits,
            w => Assert.True(w.Resend && w.CheckAfter == TimeSpan.FromSeconds(1) && w.Reason.Contains("4.29", StringComparison.Ordinal), w.ToString()),
            w => Assert.True(w.Resend && w.CheckAfter == TimeSpan.FromSeconds(1) && w.Reason.Contains("5.03", StringComparison.Ordinal), w.ToString()));
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
        var client = new CmpClient(transport, Options(waits, TimeSpan.FromSeconds(1.5)));

        // Max-Age 1 with a bound of 1.5 s: one resend, then the second refusal would wait past the bound.
        var ex = await Assert.ThrowsAsync<CmpTransportException>(() => client.GeneralAsync([CmpInfoTypes.CaCerts], new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token));
        Assert.Equal("4.29", ex.Status);
        Assert.Equal(TimeSpan.FromSeconds(1), ex.RetryAfter);
        Assert.Equal(2, Volatile.Read(ref requests));
        Assert.Single(waits);

        // No Max-Age: RFC 7252's default of 60 s, beyond the bound at once.
        maxAge = null;
        ex = await Assert.ThrowsAsync<CmpTransportException>(() => client.GeneralAsync([CmpInfoTypes.CaCerts], new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token));
        Assert.Equal(TimeSpan.FromSeconds(60), ex.RetryAfter);
        Assert.Equal(3, Volatile.Read(ref requests));
        Assert.Single(waits);
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
        var client = new CmpClient(new CmpHttpTransport(http, new Uri("http://cmp.invalid/pkix/")), Options(waits, TimeSpan.FromSeconds(30)));

        handler.Busy.Enqueue((HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(1)));
        handler.Busy.Enqueue((HttpStatusCode.TooManyRequests, TimeSpan.Zero));
        await client.GeneralAsync([CmpInfoTypes.CaCerts], new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.Equal(3, handler.Bodies.Count);
        Assert.Equal(handler.Bodies[0], handler.Bodies[1]);
        Assert.Equal(handler.Bodies[0], handler.Bodies[2]);
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.Zero], waits.Select(w => w.CheckAfter));

        handler.Busy.Enqueue((HttpStatusCode.ServiceUnavailable, null));
        var ex = await Assert.ThrowsAsync<CmpTransportException>(() => client.GeneralAsync([CmpInfoTypes.CaCerts], new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token));
        Assert.Equal("503", ex.Status);
        Assert.Null(ex.RetryAfter);
        Assert.Equal(4, handler.Bodies.Count);
    }

    private static IPEndPoint Listen(CoapServer server)
    {
        CoapEndpoint endpoint = server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0)));
        return new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)endpoint.LocalEndPoint).Port);
    }

    private static CmpClientOptions Options(List<CmpWaiting> waits, TimeSpan maxPollWait) => new()
    {
        Reference = CmpServerFixture.Dev1,
        SharedSecret = Encoding.UTF8.GetBytes(CmpServerFixture.Dev1Secret),
        MaxPollWait = maxPollWait,
        Waiting = new Recorder(waits),
    };

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
        public Queue<(HttpStatusCode Status, TimeSpan? RetryAfter)> Busy { get; } = new();

        public List<byte[]> Bodies { get; } = [];

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

                return refusal;
            }

            PkiMessage genm = PkiMessageCodec.Decode(der).Message!;
            PkiHeader header = CmpRequests.Header(new X500DistinguishedName("CN=fake CA"), null, Encoding.UTF8.GetBytes("fake"),
                genm.Header.TransactionId!.Value, genm.Header.SenderNonce);
            PkiMessage reply = CmpProtection.ProtectWithMac(
                new PkiMessage { Header = header, Body = new GenMsgBody(PkiBodyType.Genp) { Items = [new InfoTypeAndValue { InfoType = CmpInfoTypes.CaCerts }] } },
                Encoding.UTF8.GetBytes(CmpServerFixture.Dev1Secret), CmpMacParameters.PasswordBasedMac());
            var content = new ByteArrayContent(PkiMessageCodec.Encode(reply));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/pkixcmp");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
        }
    }
}
