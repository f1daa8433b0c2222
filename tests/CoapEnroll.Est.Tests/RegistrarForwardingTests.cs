using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Enrollment;
using CoapEnroll.Est.Upstream;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// The EST-coaps registrar (RFC 9148 §5) in front of an EST server over HTTPS (<see cref="HttpsEstUpstream"/>, on CA "B"): the
/// device authenticates to the registrar "A" over DTLS and is checked there (names, proof-of-possession link); its requests reach
/// B with A's registrar certificate (id-kp-cmcRA); B's answers come back as EST-coaps answers, codes and formats translated.
/// </summary>
public sealed class RegistrarForwardingTests
{
    [Fact]
    public async Task An_anonymous_dtls_client_gets_crts_through_the_registrar_and_nothing_else()
    {
        await using Pair pair = await Pair.StartAsync();
        EstFixture a = pair.Registrar, b = pair.Ca;
        await using CoapEnroll.Dtls.DtlsClientChannel channel = await a.ConnectAsync(null);
        await using var coap = new CoapClient(channel);

        CoapMessage crts = await coap.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/crts"), channel.RemoteEndPoint, EstFixture.Timeout());
        Assert.Equal(CoapCode.Content, crts.Code);
        Assert.Contains(CoapEnroll.Pkix.Pkcs7CertsOnly.Decode(crts.Payload.Span), c => c.Thumbprint == b.Hierarchy.IssuingCa.Thumbprint);
        Assert.Equal(1, pair.Upstream.Requests);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new CertificateRequest("CN=anonymous", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        CoapMessage sen = await coap.SendAsync(CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/est/sen").WithContentFormat(CoapContentFormat.Pkcs10).WithPayload(csr),
            channel.RemoteEndPoint, EstFixture.Timeout());
        Assert.Equal(CoapCode.Unauthorized, sen.Code);
        Assert.Equal(1, pair.Upstream.Requests);
    }

    [Fact]
    public async Task A_device_enrolls_re_enrolls_and_gets_server_generated_keys_through_the_registrar()
    {
        await using Pair pair = await Pair.StartAsync();
        EstFixture a = pair.Registrar, b = pair.Ca;
        var subject = new X500DistinguishedName("CN=demo-device-1");

        await using (EstCoapsClient client = await a.ClientAsync(configure: o => o.Label = "bound"))
        {
            X509Certificate2Collection crts = await client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout());
            Assert.Contains(crts, c => c.Thumbprint == b.Hierarchy.IssuingCa.Thumbprint);
            X509Certificate2 anchor = Assert.Single(await client.GetCaCertificatesAsync(EstCertificateFormat.PkixCert, EstFixture.Timeout()));
            Assert.Equal(b.Hierarchy.TrustAnchor.Thumbprint, anchor.Thumbprint);
            Assert.NotEmpty(await client.GetCsrAttributesAsync(EstFixture.Timeout()));

            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            // The client links its proof of possession to its DTLS session with A; A checks it, B trusts A for it.
            X509Certificate2 issued = await client.EnrollAsync(subject, key, cancellationToken: EstFixture.Timeout());
            Assert.Equal(b.Hierarchy.IssuingCa.SubjectName.RawData, issued.IssuerName.RawData);
            await b.OpenSslVerifyAsync(issued);

            StoredRequest stored = Assert.Single(await b.RequestsAsync(), r => r.Protocol != "cli");
            Assert.Equal((EstFixture.RequesterOf(pair.RegistrarCertificate), EnrollmentService.DeviceIdentityOf(subject), "est-https", RequestStatus.Issued),
                (stored.Registrar, stored.Identity, stored.Protocol, stored.Status));
            Assert.Empty(await a.RequestsAsync());
            Assert.Equal(4, pair.Upstream.Requests);

            // Re-enrollment: the device authenticates to A with the certificate B issued (A trusts B's issuing CA for devices).
            Assert.True(issued.HasPrivateKey);
            await using EstCoapsClient renewing = await a.ClientAsync(issued, o => o.Label = "bound");
            using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            X509Certificate2 renewed = await renewing.ReenrollAsync(subject, newKey, cancellationToken: EstFixture.Timeout());
            Assert.NotEqual(issued.SerialNumber, renewed.SerialNumber);
            Assert.Equal(CertificateStatus.Superseded, (await b.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.Status);
            Assert.Equal(issued.SerialNumber, (await b.RequestsAsync())[0].ReplacesSerialNumber);

            // Server-side key generation: multipart/mixed upstream, multipart-core [284, 281] and [284, 287] here.
            EstServerKeyGenResult skg = await client.ServerKeyGenAsync(new X500DistinguishedName("CN=demo-device-1"), cancellationToken: EstFixture.Timeout());
            Assert.Equal(CoapContentFormat.Pkcs7CertsOnly, skg.CertificateContentFormat);
            using (ECDsa generated = ECDsa.Create())
            {
                generated.ImportPkcs8PrivateKey(skg.Pkcs8PrivateKey, out _);
                Assert.Equal(generated.ExportSubjectPublicKeyInfo(), skg.Certificate.PublicKey.ExportSubjectPublicKeyInfo());
            }

            EstServerKeyGenResult skc = await client.ServerKeyGenAsync(subject, singleCertificate: true, cancellationToken: EstFixture.Timeout());
            Assert.Equal(CoapContentFormat.PkixCert, skc.CertificateContentFormat);
            await b.OpenSslVerifyAsync(skc.Certificate);
        }
    }

    [Fact]
    public async Task A_request_in_64_byte_blocks_is_reassembled_before_it_goes_upstream_and_the_answer_comes_back_in_blocks()
    {
        await using Pair pair = await Pair.StartAsync();
        await using EstCoapsClient client = await pair.Registrar.ClientAsync(configure: o => o.Coap.BlockSize = 64);
        X509Certificate2 issued = await client.EnrollAsync(new X500DistinguishedName("CN=demo-device-1"), cancellationToken: EstFixture.Timeout());
        await pair.Ca.OpenSslVerifyAsync(issued);
        Assert.Equal(1, pair.Upstream.Requests);
    }

    [Fact]
    public async Task The_registrar_binds_names_to_the_device_before_anything_goes_upstream()
    {
        await using Pair pair = await Pair.StartAsync();
        await using EstCoapsClient client = await pair.Registrar.ClientAsync(configure: o => o.Label = "bound");
        var refused = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(new X500DistinguishedName("CN=someone-else"), cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, refused.Code);
        Assert.StartsWith("name not bound to the requester: CN 'someone-else'", refused.Diagnostic, StringComparison.Ordinal);

        // A re-enrollment with an IDevID names the IDevID's subject or is refused here too.
        var other = await Assert.ThrowsAsync<EstRequestException>(() => client.ReenrollAsync(new X500DistinguishedName("CN=someone-else"), cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, other.Code);
        Assert.Equal(0, pair.Upstream.Requests);
        Assert.DoesNotContain(await pair.Ca.RequestsAsync(), r => r.Protocol != "cli");
    }

    [Fact]
    public async Task Manual_approval_upstream_is_5_03_with_Max_Age_and_the_repeated_request_gets_the_certificate_after_approval()
    {
        await using Pair pair = await Pair.StartAsync();
        await using EstCoapsClient client = await pair.Registrar.ClientAsync(configure: o => { o.Label = "manual"; o.MaxPendingWait = TimeSpan.Zero; });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = new CertificateRequest("CN=demo-device-1", key, HashAlgorithmName.SHA256).CreateSigningRequest();

        var pending = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(csr, cancellationToken: EstFixture.Timeout()));
        Assert.Equal((CoapCode.ServiceUnavailable, 2u), (pending.Code, pending.MaxAge));
        StoredRequest waiting = Assert.Single(await pair.Ca.Store.ListPendingRequestsAsync(10, CancellationToken.None));
        Assert.Equal(EstFixture.RequesterOf(pair.RegistrarCertificate), waiting.Registrar);

        Assert.Equal(IssuanceStatus.Issued, (await pair.Ca.Authority.ApproveAsync(waiting.Id, "operator:test", CancellationToken.None)).Status);
        X509Certificate2 issued = await client.EnrollAsync(csr, cancellationToken: EstFixture.Timeout());
        Assert.Equal("CN=demo-device-1", issued.Subject);
        Assert.Single(await pair.Ca.CertificatesAsync(), c => c.SerialNumber == issued.SerialNumber);
    }

    public static TheoryData<int, string?, string, uint?> UpstreamStatuses() => new()
    {
        { 400, null, "4.00", null },
        { 401, null, "4.01", null },
        { 403, null, "4.03", null },
        { 404, null, "4.04", null },
        { 415, null, "4.15", null },
        { 500, null, "5.02", null },
        { 502, null, "5.02", null },
        { 503, "7", "5.03", 7u },
        { 503, null, "5.03", 10u },
        { 202, "3", "5.03", 3u },
        { 302, null, "5.02", null },
    };

    [Theory]
    [MemberData(nameof(UpstreamStatuses))]
    public async Task Upstream_statuses_become_EST_coaps_codes(int status, string? retryAfter, string code, uint? maxAge)
    {
        await using Pair pair = await Pair.StartAsync();
        pair.Upstream.Override = (status, retryAfter);
        await using EstCoapsClient client = await pair.Registrar.ClientAsync(configure: o => o.MaxPendingWait = TimeSpan.Zero);
        var refused = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(new X500DistinguishedName("CN=demo-device-1"), cancellationToken: EstFixture.Timeout()));
        Assert.Equal((code, maxAge), (refused.Code.ToString(), refused.MaxAge));
    }

    [Fact]
    public async Task An_upstream_Retry_After_date_is_read_against_the_upstreams_own_Date()
    {
        // The upstream's clock says 2001; "retry at 04:05:12" sent at "04:05:00" means 12 s, not a date long past (0).
        await using Pair pair = await Pair.StartAsync();
        pair.Upstream.Override = (503, "Sat, 03 Feb 2001 04:05:12 GMT");
        pair.Upstream.OverrideDate = "Sat, 03 Feb 2001 04:05:00 GMT";
        await using EstCoapsClient client = await pair.Registrar.ClientAsync(configure: o => o.MaxPendingWait = TimeSpan.Zero);
        var refused = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(new X500DistinguishedName("CN=demo-device-1"), cancellationToken: EstFixture.Timeout()));
        Assert.Equal((CoapCode.ServiceUnavailable, 12u), (refused.Code, refused.MaxAge));
    }

    [Fact]
    public async Task An_upstream_that_is_down_is_5_03_at_once_and_the_registrar_serves_again_when_it_returns()
    {
        await using Pair pair = await Pair.StartAsync();
        int port = pair.Upstream.Root.Port;
        await pair.Upstream.DisposeAsync();
        await using EstCoapsClient client = await pair.Registrar.ClientAsync(configure: o => o.MaxPendingWait = TimeSpan.Zero);

        var clock = Stopwatch.StartNew();
        var down = await Assert.ThrowsAsync<EstRequestException>(() => client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout()));
        Assert.Equal((CoapCode.ServiceUnavailable, 10u), (down.Code, down.MaxAge));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), clock.Elapsed.ToString());

        await using HttpsEstUpstream again = await HttpsEstUpstream.StartAsync(pair.Ca, port);
        Assert.NotEmpty(await client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout()));
    }

    [Fact]
    public async Task An_upstream_that_does_not_answer_is_5_04_within_the_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<TcpClient>();
        Task accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await silent.AcceptTcpClientAsync());
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        });

        await using Pair pair = await Pair.StartAsync(new Uri($"https://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/.well-known/est"));
        await using EstCoapsClient client = await pair.Registrar.ClientAsync();
        var clock = Stopwatch.StartNew();
        var timedOut = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(new X500DistinguishedName("CN=demo-device-1"), cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.GatewayTimeout, timedOut.Code);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(6));
        silent.Stop();
        await accepting;
        accepted.ForEach(c => c.Dispose());
    }

    [Theory]
    [InlineData("https://ca.example", "https://ca.example/.well-known/est", null)]
    [InlineData("https://ca.example:8443/.well-known/est", "https://ca.example:8443/.well-known/est", null)]
    [InlineData("https://ca.example/.well-known/est/", "https://ca.example/.well-known/est", null)]
    [InlineData("https://ca.example/.well-known/est/arbitraryLabel1", "https://ca.example/.well-known/est", "arbitraryLabel1")]
    public void The_upstream_URI_names_the_EST_root_and_optionally_a_label(string uri, string root, string? label)
    {
        Assert.True(EstHttpsClient.TryParseServer(new Uri(uri), out Uri? parsedRoot, out string? parsedLabel, out _));
        Assert.Equal((root, label), (parsedRoot!.AbsoluteUri, parsedLabel));
    }

    [Theory]
    [InlineData("ftp://ca.example/.well-known/est")]
    [InlineData("https://ca.example/est")]
    [InlineData("https://ca.example/.well-known/est/a/b")]
    [InlineData("https://ca.example/.well-known/est?x=1")]
    [InlineData("https://user@ca.example/.well-known/est")]
    public void Other_upstream_URIs_are_refused(string uri) =>
        Assert.False(EstHttpsClient.TryParseServer(new Uri(uri), out _, out _, out string? problem) || problem is null);

    /// <summary>CA "B" with its EST server over HTTPS, a registrar certificate B issued, and registrar "A" in front of it.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly HttpClient _http;

        private Pair(EstFixture ca, HttpsEstUpstream upstream, X509Certificate2 registrarCertificate, HttpClient http, EstFixture registrar)
        {
            Ca = ca;
            Upstream = upstream;
            RegistrarCertificate = registrarCertificate;
            _http = http;
            Registrar = registrar;
        }

        public EstFixture Ca { get; }

        public HttpsEstUpstream Upstream { get; }

        public X509Certificate2 RegistrarCertificate { get; }

        public EstFixture Registrar { get; }

        /// <param name="upstreamUri">Where A forwards to instead of B's HTTPS server (B still runs).</param>
        public static async Task<Pair> StartAsync(Uri? upstreamUri = null)
        {
            EstFixture ca = await EstFixture.StartAsync();
            HttpsEstUpstream upstream = await HttpsEstUpstream.StartAsync(ca);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            IssuanceResult issued = await ca.Authority.IssueRegistrarCertificateAsync(new CertificateRequest("CN=edge-1", key, HashAlgorithmName.SHA256).CreateSigningRequest(),
                "operator:test", 30, CancellationToken.None);
            X509Certificate2 registrarCertificate = issued.Certificate!.CopyWithPrivateKey(key);
            HttpClient http = HttpsEstUpstream.ClientFor(registrarCertificate, ca.Hierarchy.TrustAnchor,
                X509CertificateLoader.LoadCertificate(ca.Hierarchy.IssuingCa.RawData));
            var client = new EstHttpsClient(http, upstreamUri ?? upstream.Root, TimeSpan.FromSeconds(1));

            // A trusts B's CAs (root and issuing CA) for device certificates, so that devices re-enroll through A with what B issued them.
            string chain = ca.WritePem("upstream-chain.pem", ca.Hierarchy.TrustAnchor, ca.Hierarchy.IssuingCa);
            EstFixture registrar = await EstFixture.StartAsync(configureCa: o => o.TrustedManufacturerCaFiles = [chain], upstream: client);
            return new Pair(ca, upstream, registrarCertificate, http, registrar);
        }

        public async ValueTask DisposeAsync()
        {
            await Registrar.DisposeAsync();
            _http.Dispose();
            await Upstream.DisposeAsync();
            await Ca.DisposeAsync();
        }
    }
}
