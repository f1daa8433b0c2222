using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Transport;

namespace CoapEnroll.Est.Tests;

/// <summary>Retransmissions, repeats, manual approval with 5.03 + Max-Age (RFC 9148 §4.7) and restarts.</summary>
public sealed class EstReliabilityTests
{
    [Fact]
    public async Task Lost_ack_of_a_con_post_is_retransmitted_and_only_one_certificate_is_issued()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using var forwarder = new LossyForwarder(est.DtlsEndPoint);
        await using EstCoapsClient client = await est.ClientAsync(via: forwarder.EndPoint);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=lossy"), key);

        int before = forwarder.ForwardedToServer;
        forwarder.DropNextToClient = 1; // the piggybacked 2.04 (the ACK) is lost
        X509Certificate2 issued = await client.EnrollAsync(csr, cancellationToken: EstFixture.Timeout());
        Assert.True(forwarder.ForwardedToServer - before >= 2, "the CON POST was retransmitted");
        Assert.Single(await est.CertificatesAsync());

        // The same request again as a new exchange (new message ID): the stored outcome, still one certificate.
        X509Certificate2 again = await client.EnrollAsync(csr, cancellationToken: EstFixture.Timeout());
        Assert.Equal(issued.SerialNumber, again.SerialNumber);
        Assert.Single(await est.CertificatesAsync());
    }

    [Theory]
    [InlineData("sen")]
    [InlineData("skg")]
    public async Task A_con_post_retransmitted_after_duplicate_detection_forgot_it_gets_the_stored_certificate(string operation)
    {
        // One remembered exchange per peer: any other request of the same DTLS session makes the server forget the POST.
        int probes = 0;
        await using EstFixture est = await EstFixture.StartAsync(
            configureEst: o => o.KeyGenerationSecret = RandomNumberGenerator.GetBytes(32),
            configureServer: server => server.MapPost("/probe", (_, _) => ValueTask.FromResult(
                new CoapMessage { Code = CoapCode.Changed }.WithPayload(Interlocked.Increment(ref probes).ToString(System.Globalization.CultureInfo.InvariantCulture)))),
            configureCoap: o => o.Endpoint.MaxDeduplicationEntriesPerPeer = 1);
        await using DtlsClientChannel channel = await est.ConnectAsync(est.Device);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new CertificateRequest("CN=forgotten", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        byte[] post = CoapMessageEncoder.Encode(CoapMessage.CreateRequest(CoapCode.Post, $"/.well-known/est/{operation}")
            .WithContentFormat(CoapContentFormat.Pkcs10).WithPayload(csr) with { MessageId = 4711, Token = new byte[] { 1, 2, 3, 4 } });
        byte[] probe = CoapMessageEncoder.Encode(CoapMessage.CreateRequest(CoapCode.Post, "/probe") with { MessageId = 4712, Token = new byte[] { 5 } });
        byte[] crts = CoapMessageEncoder.Encode(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/crts") with { MessageId = 4713, Token = new byte[] { 6 } });

        // The mechanism first: a non-idempotent POST sent again after another exchange is processed again.
        Assert.Equal("1", (await ExchangeAsync(channel, probe)).PayloadText);
        Assert.Equal(CoapCode.Content, (await ExchangeAsync(channel, crts)).Code);
        Assert.Equal("2", (await ExchangeAsync(channel, probe)).PayloadText);

        CoapMessage first = await ExchangeAsync(channel, post);
        Assert.Equal(CoapCode.Changed, first.Code);
        Assert.Equal(CoapCode.Content, (await ExchangeAsync(channel, crts)).Code);
        CoapMessage again = await ExchangeAsync(channel, post);
        Assert.Equal(CoapCode.Changed, again.Code);

        // The enrollment path is idempotent on its own: the same certificate (and key), once in the store.
        Assert.Equal(first.Payload.ToArray(), again.Payload.ToArray());
        StoredCertificate stored = Assert.Single(await est.CertificatesAsync());
        Assert.Equal("CN=forgotten", stored.Subject);
        Assert.Single(await est.RequestsAsync());
    }

    /// <summary>Sends one datagram over the session and returns the response to its token, acknowledging a separate one.</summary>
    private static async Task<CoapMessage> ExchangeAsync(DtlsClientChannel channel, byte[] request)
    {
        Assert.Equal(CoapDecodeStatus.Success, CoapMessageDecoder.TryDecode(request, out CoapMessage? sent));
        await channel.SendAsync(request, channel.RemoteEndPoint, EstFixture.Timeout());
        byte[] buffer = new byte[2048];
        using CancellationTokenSource deadline = new(TimeSpan.FromSeconds(20));
        while (true)
        {
            DatagramReceiveResult result = await channel.ReceiveAsync(buffer, deadline.Token);
            Assert.Equal(CoapDecodeStatus.Success, CoapMessageDecoder.TryDecode(buffer.AsMemory(0, result.ReceivedBytes).ToArray(), out CoapMessage? reply));
            if (reply!.Type == CoapMessageType.Confirmable)
            {
                await channel.SendAsync(CoapMessageEncoder.Encode(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, reply.MessageId)), channel.RemoteEndPoint, deadline.Token);
            }

            if (!reply.IsEmpty && reply.Token.Span.SequenceEqual(sent!.Token.Span))
            {
                return reply;
            }
        }
    }

    [Fact]
    public async Task Manual_approval_is_5_03_with_max_age_and_the_waiting_client_gets_the_certificate()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync(configure: o => o.Label = "manual");
        Task<X509Certificate2> enrolling = client.EnrollAsync(new X500DistinguishedName("CN=approve-me"), cancellationToken: EstFixture.Timeout(30));

        StoredRequest pending = await WaitForPendingAsync(est);
        Assert.False(enrolling.IsCompleted);
        Assert.Empty(await est.CertificatesAsync());
        IssuanceResult approved = await est.Authority.ApproveAsync(pending.Id, "operator", default);

        X509Certificate2 issued = await enrolling;
        Assert.Equal(approved.Certificate!.SerialNumber, issued.SerialNumber);
        Assert.Single(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Pending_request_survives_a_server_restart_and_the_repeat_gets_the_certificate()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr;
        await using (DtlsClientChannel channel = await est.ConnectAsync(est.Device))
        await using (var coap = new CoapClient(channel))
        {
            // Without POP link so the identical CSR can be resent in a new DTLS session after the restart.
            csr = new CertificateRequest("CN=restart", key, HashAlgorithmName.SHA256).CreateSigningRequest();
            CoapMessage request = CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/est/manual/sen").WithContentFormat(CoapContentFormat.Pkcs10).WithPayload(csr);
            CoapMessage first = await coap.SendAsync(request, channel.RemoteEndPoint, EstFixture.Timeout());
            Assert.Equal(CoapCode.ServiceUnavailable, first.Code);
            Assert.Equal(1u, first.MaxAge);
            CoapMessage second = await coap.SendAsync(request, channel.RemoteEndPoint, EstFixture.Timeout());
            Assert.Equal(CoapCode.ServiceUnavailable, second.Code);
        }

        StoredRequest pending = Assert.Single(await est.Authority.ListPendingAsync(10, default));
        await est.RestartAsync();
        Assert.Equal(pending.Id, Assert.Single(await est.Authority.ListPendingAsync(10, default)).Id);
        await est.Authority.ApproveAsync(pending.Id, "operator", default);
        await est.RestartAsync();

        await using EstCoapsClient client = await est.ClientAsync(configure: o => o.Label = "manual");
        X509Certificate2 issued = await client.EnrollAsync(csr, cancellationToken: EstFixture.Timeout());
        Assert.Equal("CN=restart", issued.Subject);
        Assert.Single(await est.CertificatesAsync());
        Assert.Empty(await est.Authority.ListPendingAsync(10, default));
    }

    [Fact]
    public async Task Client_waits_out_a_4_29_and_enrolls()
    {
        // One request of this address at a time, and another session of the same address holds it: the device's /sen gets
        // 4.29 with Max-Age 1 (RFC 8516) until the hold ends, and the client comes back after Max-Age instead of failing.
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using EstFixture est = await EstFixture.StartAsync(
            configureServer: server => server.MapGet("/hold", async (_, _) =>
            {
                held.TrySetResult();
                await hold.Task;
                return new CoapMessage { Code = CoapCode.Content };
            }),
            configureCoap: o => o.Endpoint.MaxRequestsInProgressPerAddress = 1);
        using var meters = new CoapEnroll.Testing.MeterRecorder("CoapEnroll.Coap");
        await using DtlsClientChannel other = await est.ConnectAsync(est.Device);
        await using var otherCoap = new CoapClient(other);
        Task<CoapMessage> holding = otherCoap.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/hold"), other.RemoteEndPoint, EstFixture.Timeout());
        await held.Task.WaitAsync(EstFixture.Timeout());

        await using EstCoapsClient client = await est.ClientAsync();
        Task<X509Certificate2> enrolling = client.EnrollAsync(new X500DistinguishedName("CN=waited"), cancellationToken: EstFixture.Timeout(30));
        while (meters.Sum("coap.requests.refused", "address") == 0)
        {
            Assert.False(enrolling.IsCompleted, "the /sen was not refused while another request of its address was in progress");
            await Task.Delay(20);
        }

        hold.SetResult();
        Assert.Equal(CoapCode.Content, (await holding).Code);
        Assert.Equal("CN=waited", (await enrolling).Subject);
    }

    [Fact]
    public async Task Client_waits_at_least_a_second_when_Max_Age_is_0()
    {
        // Real time (the client's CoAP timers run on the same clock as its waits): Max-Age 0 taken literally would resend as fast
        // as the server answers, hundreds of times in 2.5 s; at one a second the requests go at about 0, 1 and 2 s.
        int requests = 0;
        await using EstFixture est = await EstFixture.StartAsync(configureServer: server => server.MapPost("/.well-known/est/busy0/sen", (_, _) =>
        {
            Interlocked.Increment(ref requests);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.ServiceUnavailable }.SetUInt(CoapOptionNumber.MaxAge, 0));
        }));
        await using EstCoapsClient client = await est.ClientAsync(configure: o =>
        {
            o.Label = "busy0";
            o.MaxPendingWait = TimeSpan.FromSeconds(2.5);
        });
        var ex = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(new X500DistinguishedName("CN=zero"), cancellationToken: EstFixture.Timeout(30)));
        Assert.Equal(CoapCode.ServiceUnavailable, ex.Code);
        Assert.InRange(Volatile.Read(ref requests), 2, 4);
    }

    [Fact]
    public async Task Clients_refused_together_do_not_come_back_together()
    {
        // Eight devices refused with Max-Age 1: without the client's jitter each resends one second after its refusal, all eight
        // within a few milliseconds of that; with it the waits spread over a second (eight uniform draws within 150 ms: ~1e-5).
        // Each device's wait is measured on its own session, so a device that starts late (a loaded machine) does not count.
        const int Clients = 8;
        var arrivals = new Dictionary<System.Net.EndPoint, List<TimeSpan>>();
        long start = TimeProvider.System.GetTimestamp();
        await using EstFixture est = await EstFixture.StartAsync(configureServer: server => server.MapPost("/.well-known/est/busy1/sen", (context, _) =>
        {
            int n;
            lock (arrivals)
            {
                if (!arrivals.TryGetValue(context.RemoteEndPoint, out List<TimeSpan>? times))
                {
                    arrivals[context.RemoteEndPoint] = times = [];
                }

                times.Add(TimeProvider.System.GetElapsedTime(start));
                n = times.Count;
            }

            return ValueTask.FromResult(n == 1
                ? new CoapMessage { Code = CoapCode.ServiceUnavailable }.SetUInt(CoapOptionNumber.MaxAge, 1)
                : new CoapMessage { Code = CoapCode.BadRequest }.WithPayload("enough"));
        }));
        var clients = new List<EstCoapsClient>();
        try
        {
            for (int i = 0; i < Clients; i++)
            {
                clients.Add(await est.ClientAsync(configure: o =>
                {
                    o.Label = "busy1";
                    o.BusyJitter = 1;
                }));
            }

            Task<X509Certificate2>[] enrolling = [.. clients.Select((c, i) => c.EnrollAsync(new X500DistinguishedName($"CN=herd-{i}"), cancellationToken: EstFixture.Timeout(30)))];
            foreach (Task<X509Certificate2> one in enrolling)
            {
                var ex = await Assert.ThrowsAsync<EstRequestException>(() => one);
                Assert.Equal(CoapCode.BadRequest, ex.Code);
            }
        }
        finally
        {
            foreach (EstCoapsClient client in clients)
            {
                await client.DisposeAsync();
            }
        }

        string seen = string.Join("; ", arrivals.Values.Select(t => string.Join(", ", t)));
        Assert.Equal(Clients, arrivals.Count);
        Assert.All(arrivals.Values, t => Assert.Equal(2, t.Count));
        TimeSpan[] waits = [.. arrivals.Values.Select(t => t[1] - t[0])];
        Assert.All(waits, w => Assert.True(w >= TimeSpan.FromSeconds(0.95), seen));
        Assert.True(waits.Max() - waits.Min() > TimeSpan.FromMilliseconds(150), seen);
    }

    [Fact]
    public async Task Client_gives_up_after_its_bound_with_the_5_03()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync(configure: o =>
        {
            o.Label = "manual";
            o.MaxPendingWait = TimeSpan.FromMilliseconds(500);
        });
        var ex = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(new X500DistinguishedName("CN=impatient"), cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.ServiceUnavailable, ex.Code);
        Assert.Equal(1u, ex.MaxAge);
    }

    [Fact]
    public async Task Repeated_skg_returns_the_same_key_and_certificate()
    {
        await using EstFixture est = await EstFixture.StartAsync(o => o.KeyGenerationSecret = RandomNumberGenerator.GetBytes(32));
        await using EstCoapsClient client = await est.ClientAsync();
        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=twice"), throwaway);
        EstServerKeyGenResult first = await client.ServerKeyGenAsync(csr, false, null, EstFixture.Timeout());
        EstServerKeyGenResult second = await client.ServerKeyGenAsync(csr, false, null, EstFixture.Timeout());
        Assert.Equal(first.Certificate.SerialNumber, second.Certificate.SerialNumber);
        Assert.Equal(first.Pkcs8PrivateKey, second.Pkcs8PrivateKey);
        Assert.Single(await est.CertificatesAsync());
    }

    private static async Task<StoredRequest> WaitForPendingAsync(EstFixture est)
    {
        for (int i = 0; i < 200; i++)
        {
            if ((await est.Authority.ListPendingAsync(10, default)) is [var pending])
            {
                return pending;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("no pending request appeared");
    }
}
