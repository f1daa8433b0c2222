using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cli.Tests.Interop;
using CoapEnroll.Cmp;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// Our CoAP-to-HTTP CMP proxy (RFC 9482 §4, <c>serve --upstream-cmp</c>) in front of <c>openssl cmp</c>'s mock server, an independent
/// HTTP CMP server: <c>openssl cmp</c> through libcoap's <c>coap-client</c> (see <see cref="CoapCmpRelay"/>) and our own client
/// enroll through it, and the certificates that come back are the mock's, checked with <c>openssl verify</c> against its CA.
/// </summary>
[Trait("Needs", "libcoap")]
public sealed class CmpProxyInteropTests : CmpTestBase
{
    public static TheoryData<string> Flavours => new() { "notls", "openssl" };

    /// <summary>
    /// The mock's PKI: a CA, and the one certificate the mock answers every enrollment with (<c>-rsp_cert</c>), issued by that CA
    /// for <c>leaf.key</c>, so that a client enrolling with that key accepts it.
    /// </summary>
    private async Task<(string Ca, string Leaf, string LeafKey)> MockPkiAsync()
    {
        string caKey = await OpenSsl.NewKeyAsync("mock-ca.key");
        string ca = OpenSsl.File("mock-ca.pem");
        await OpenSsl.MustAsync("req", "-x509", "-new", "-key", caKey, "-subj", "/CN=mock-ca", "-days", "2", "-out", ca,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
        string leafKey = await OpenSsl.NewKeyAsync("leaf.key");
        await OpenSsl.MustAsync("req", "-new", "-key", leafKey, "-subj", "/CN=mock-leaf", "-out", OpenSsl.File("leaf.csr"));
        string leaf = OpenSsl.File("leaf.pem");
        await OpenSsl.MustAsync("x509", "-req", "-in", OpenSsl.File("leaf.csr"), "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "2", "-out", leaf);
        return (ca, leaf, leafKey);
    }

    private async Task VerifyAgainstMockCaAsync(string ca, string leaf, string certificate)
    {
        ProcessResult verify = await OpenSsl.RunAsync("verify", "-CAfile", ca, certificate);
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains(": OK", StringComparison.Ordinal), verify.Describe());
        using var expected = OpenSslCmp.Load(leaf);
        using var got = OpenSslCmp.Load(certificate);
        Assert.Equal(expected.RawData, got.RawData);
    }

    private static Dictionary<string, string?> Proxying(string upstream, double timeoutSeconds = 20) => new()
    {
        ["Upstream:Cmp"] = upstream,
        ["Upstream:TimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task OpenSslCmp_Ir_Cr_Genm_ThroughLibCoapAndTheProxy_ReachTheMock(string flavour)
    {
        var (ca, leaf, leafKey) = await MockPkiAsync();
        await using var mock = await OpenSslMockCmpServer.StartAsync(leaf);
        await using var proxy = await CmpServerHost.StartAsync(Proxying(mock.Url()));
        string uri = flavour == "notls"
            ? $"coap://127.0.0.1:{proxy.CoapPort}/.well-known/cmp"
            : $"coaps://127.0.0.1:{proxy.CoapsPort}/.well-known/cmp";
        string[] psk = flavour == "notls" ? [] : ["-u", CmpServerHost.PskIdentity, "-k", CmpServerHost.PskText];
        await using var relay = new CoapCmpRelay(flavour, uri, OpenSsl.WorkingDirectory, psk);
        string[] mac = ["-server", relay.Server, "-ref", "client-ref", "-secret", "pass:" + OpenSslMockCmpServer.Secret];

        // ir, then certConf → pkiConf: two round trips, each forwarded.
        ProcessResult ir = await OpenSsl.RunAsync(["cmp", "-cmd", "ir", .. mac, "-newkey", leafKey, "-subject", "/CN=mock-leaf", "-certout", OpenSsl.File("ir.pem")]);
        Assert.True(ir.ExitCode == 0, ir.Describe() + relay.Log);
        await VerifyAgainstMockCaAsync(ca, leaf, OpenSsl.File("ir.pem"));

        ProcessResult cr = await OpenSsl.RunAsync(["cmp", "-cmd", "cr", .. mac, "-newkey", leafKey, "-subject", "/CN=mock-leaf", "-implicit_confirm",
            "-certout", OpenSsl.File("cr.pem")]);
        Assert.True(cr.ExitCode == 0, cr.Describe() + relay.Log);
        await VerifyAgainstMockCaAsync(ca, leaf, OpenSsl.File("cr.pem"));

        ProcessResult genm = await OpenSsl.RunAsync(["cmp", "-cmd", "genm", .. mac, "-infotype", "signKeyPairTypes"]);
        Assert.True(genm.ExitCode == 0, genm.Describe() + relay.Log);

        // ir + certConf, cr + certConf (the mock grants no implicit confirmation unless told to), genm: each a 2.04.
        Assert.Equal(["2.04", "2.04", "2.04", "2.04", "2.04"], relay.Codes);

        // The local CA issued nothing: the proxy replaced local CMP.
        Assert.Empty(await proxy.CertificatesAsync());
    }

    [Fact]
    public async Task OurClient_Ir_Cr_P10cr_Genm_ThroughTheProxy_ReachTheMock()
    {
        var (ca, leaf, leafKey) = await MockPkiAsync();
        await using var mock = await OpenSslMockCmpServer.StartAsync(leaf);
        await using var proxy = await CmpServerHost.StartAsync(Proxying(mock.Url()));
        string server = $"coap://127.0.0.1:{proxy.CoapPort}/.well-known/cmp";

        // The library: ir and cr with the key the mock's certificate is for.
        using var key = ECDsa.Create();
        key.ImportFromPem(await File.ReadAllTextAsync(leafKey));
        var remote = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, proxy.CoapPort);
        await using (var transport = new CmpCoapTransport(new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote)), remote, "/.well-known/cmp"))
        {
            var options = new CmpClientOptions
            {
                Reference = "client-ref",
                SharedSecret = System.Text.Encoding.UTF8.GetBytes(OpenSslMockCmpServer.Secret),
                MacParameters = CmpMacParameters.PasswordBasedMac(),

                // OpenSSL 3.0's mock MACs its answers with PasswordBasedMac and HMAC-SHA1.
                AnswerMacPolicy = new CmpMacPolicy { MinIterations = 100, AllowHmacSha1 = true },
            };
            CmpEnrollmentResult ir = await new CmpClient(transport, options).EnrollAsync(PkiBodyType.Ir, key, new X500DistinguishedName("CN=mock-leaf"), null, CancellationToken.None);
            await File.WriteAllTextAsync(OpenSsl.File("lib-ir.pem"), ir.Certificate.ExportCertificatePem());
            await VerifyAgainstMockCaAsync(ca, leaf, OpenSsl.File("lib-ir.pem"));
            Assert.False(ir.ImplicitlyConfirmed);

            CmpEnrollmentResult cr = await new CmpClient(transport, options).EnrollAsync(PkiBodyType.Cr, key, new X500DistinguishedName("CN=mock-leaf"), null, CancellationToken.None);
            Assert.Equal(ir.Certificate.RawData, cr.Certificate.RawData);
        }

        // The command line: p10cr with the CSR for that key, and genm.
        Environment.SetEnvironmentVariable(SecretVariable, OpenSslMockCmpServer.Secret);
        CliResult p10 = await CliRunner.RunAsync("cmp", "p10cr", "--server", server, "--ref", "client-ref", "--secret-env", SecretVariable, "--allow-hmac-sha1",
            "--csr", OpenSsl.File("leaf.csr"), "--out", OpenSsl.File("p10.pem"));
        Assert.True(p10.ExitCode == 0, p10.Describe());
        await VerifyAgainstMockCaAsync(ca, leaf, OpenSsl.File("p10.pem"));

        CliResult genm = await CliRunner.RunAsync("cmp", "genm", "--server", server, "--ref", "client-ref", "--secret-env", SecretVariable,
            "--infotype", "caCerts", "--allow-hmac-sha1");
        Assert.True(genm.ExitCode == 0, genm.Describe());
        Assert.Empty(await proxy.CertificatesAsync());
    }

    [Fact]
    public async Task LargeRequest_InSmallBlocks_IsForwardedIntact_AndTheAnswerComesBackBlockWise_OnTheMappedPath()
    {
        byte[] big = Sequence(RandomNumberGenerator.GetBytes(3000));
        var seen = new List<(string Path, string? ContentType, byte[] Body)>();
        await using var upstream = await KestrelUpstream.StartAsync(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            lock (seen)
            {
                seen.Add((context.Request.Path.Value!, context.Request.ContentType, body.ToArray()));
            }

            // An echo: the test checks the bytes, not a CMP answer.
            context.Response.ContentType = "application/pkixcmp";
            await context.Response.Body.WriteAsync(body.ToArray());
        });
        await using var proxy = await CmpServerHost.StartAsync(Proxying(upstream.Url("/.well-known/cmp")));
        string request = OpenSsl.File("big.der");
        string answer = OpenSsl.File("big-answer.der");
        await File.WriteAllBytesAsync(request, big);

        ProcessResult post = await LibCoap.RunClientAsync(30, "-m", "post", "-t", "259", "-b", "64", "-f", request, "-o", answer,
            $"coap://127.0.0.1:{proxy.CoapPort}/.well-known/cmp/p/site-7/ir");
        Assert.True(post.ExitCode == 0, post.Describe());
        var (path, contentType, received) = Assert.Single(seen);
        Assert.Equal("/.well-known/cmp/p/site-7/initialization", path);
        Assert.Equal("application/pkixcmp", contentType);
        Assert.Equal(big, received);
        Assert.Equal(big, await File.ReadAllBytesAsync(answer));
    }

    [Fact]
    public async Task OverTheCoapSizeLimit_Is413_AndLocalCmpOverHttpIsGone_NeitherReachingTheUpstream()
    {
        int calls = 0;
        await using var upstream = await KestrelUpstream.StartAsync(context =>
        {
            Interlocked.Increment(ref calls);
            context.Response.StatusCode = 500;
            return Task.CompletedTask;
        });
        await using var proxy = await CmpServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["Upstream:Cmp"] = upstream.Url("/.well-known/cmp"),
            ["Coap:MaxRequestBodySize"] = "1024",
        });
        string request = OpenSsl.File("too-big.der");
        await File.WriteAllBytesAsync(request, Sequence(new byte[3000]));

        ProcessResult post = await LibCoap.RunClientAsync(30, "-v", "5", "-m", "post", "-t", "259", "-b", "64", "-f", request,
            $"coap://127.0.0.1:{proxy.CoapPort}/.well-known/cmp");
        Assert.True((post.StandardOutput + post.StandardError).Contains("4.13", StringComparison.Ordinal), post.Describe());

        // The proxy replaces local CMP: this node's CMP over HTTP is not served.
        using var http = new HttpClient();
        using var content = new ByteArrayContent(Sequence([1]));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/pkixcmp");
        using HttpResponseMessage local = await http.PostAsync($"http://127.0.0.1:{proxy.HttpPort}/.well-known/cmp", content);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, local.StatusCode);
        Assert.Equal(0, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task UpstreamDown_Is503WithMaxAge_Quickly()
    {
        int closed;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            closed = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var proxy = await CmpServerHost.StartAsync(Proxying($"http://127.0.0.1:{closed}/pkix/"));
        var started = System.Diagnostics.Stopwatch.StartNew();
        CoapMessage response = await PostAsync(proxy.CoapPort, Sequence([1, 2, 3]));
        Assert.True(response.Code == CoapCode.ServiceUnavailable, response.ToString());
        Assert.NotNull(response.GetUInt(CoapOptionNumber.MaxAge));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), $"took {started.Elapsed}");
    }

    [Fact]
    public async Task UpstreamThatNeverAnswers_Is504_WithinTheTimeout_AndTheProxyServesOn()
    {
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<System.Net.Sockets.TcpClient>();
        using var stop = new CancellationTokenSource();
        Task accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await silent.AcceptTcpClientAsync(stop.Token));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        int port = ((System.Net.IPEndPoint)silent.LocalEndpoint).Port;
        await using var proxy = await CmpServerHost.StartAsync(Proxying($"http://127.0.0.1:{port}/pkix/", timeoutSeconds: 2));

        var started = System.Diagnostics.Stopwatch.StartNew();
        CoapMessage response = await PostAsync(proxy.CoapPort, Sequence([1, 2, 3]));
        Assert.True(response.Code == CoapCode.GatewayTimeout, response.ToString());
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(1.8), TimeSpan.FromSeconds(8));

        // Not wedged: the next request gets its own timeout, and discovery still lists the CMP resource.
        CoapMessage again = await PostAsync(proxy.CoapPort, Sequence([4]));
        Assert.Equal(CoapCode.GatewayTimeout, again.Code);
        ProcessResult discovery = await LibCoap.RunClientAsync(10, "-m", "get", $"coap://127.0.0.1:{proxy.CoapPort}/.well-known/core?rt=ace.cmp");
        Assert.True(discovery.StandardOutput.Contains("</.well-known/cmp>", StringComparison.Ordinal)
            && discovery.StandardOutput.Contains("rt=\"ace.cmp\"", StringComparison.Ordinal), discovery.Describe());

        await stop.CancelAsync();
        await accepting;
        foreach (var client in held)
        {
            client.Dispose();
        }
    }

    [Fact]
    public async Task OnePeerOverItsBound_Gets429_WhileAnotherPeerIsForwarded_AndTheTotalBoundGives503()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int arrived = 0;
        await using var upstream = await KestrelUpstream.StartAsync(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            Interlocked.Increment(ref arrived);
            await release.Task;
            context.Response.ContentType = "application/pkixcmp";
            await context.Response.Body.WriteAsync(body.ToArray());
        });
        await using var proxy = await CmpServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["Upstream:Cmp"] = upstream.Url("/.well-known/cmp"),
            ["Upstream:MaxConcurrentPerPeer"] = "1",
            ["Upstream:MaxConcurrent"] = "2",
        });
        var remote = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, proxy.CoapPort);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // Peer A may have two exchanges open (NSTART 2): its first is held upstream, its second refused at once.
        await using var a = new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote), new CoapClientOptions { Endpoint = new CoapEndpointOptions { NStart = 2 } });
        Task<CoapMessage> aFirst = a.SendAsync(Request(Sequence([1])), remote, timeout.Token);
        await WaitUntilAsync(() => Volatile.Read(ref arrived) == 1);
        CoapMessage aSecond = await a.SendAsync(Request(Sequence([2])), remote, timeout.Token);
        Assert.True(aSecond.Code == CoapCode.TooManyRequests, aSecond.ToString());
        Assert.NotNull(aSecond.MaxAge);

        // Peer B is not held back by A's excess; with it the total bound is reached, and peer C gets 5.03.
        await using var b = new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote));
        Task<CoapMessage> bFirst = b.SendAsync(Request(Sequence([3])), remote, timeout.Token);
        await WaitUntilAsync(() => Volatile.Read(ref arrived) == 2);
        CoapMessage c = await PostAsync(proxy.CoapPort, Sequence([4]));
        Assert.True(c.Code == CoapCode.ServiceUnavailable, c.ToString());
        Assert.NotNull(c.MaxAge);

        release.SetResult();
        Assert.Equal(Sequence([1]), (await aFirst).Payload.ToArray());
        Assert.Equal(Sequence([3]), (await bFirst).Payload.ToArray());
        Assert.Equal(2, Volatile.Read(ref arrived));

        static CoapMessage Request(byte[] payload) =>
            CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/cmp").WithContentFormat(CoapContentFormat.PkixCmp).WithPayload(payload);

        static async Task WaitUntilAsync(Func<bool> condition)
        {
            for (int i = 0; i < 200 && !condition(); i++)
            {
                await Task.Delay(50);
            }

            Assert.True(condition(), "the upstream did not get the request");
        }
    }

    /// <summary>One confirmable POST of <paramref name="payload"/> (Content-Format 259) to /.well-known/cmp from a client of its own.</summary>
    internal static async Task<CoapMessage> PostAsync(int port, byte[] payload, string path = "/.well-known/cmp", int? contentFormat = CoapContentFormat.PkixCmp)
    {
        var remote = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port);
        await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote));
        CoapMessage request = CoapMessage.CreateRequest(CoapCode.Post, path).WithPayload(payload);
        if (contentFormat is { } format)
        {
            request = request.WithContentFormat(format);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await client.SendAsync(request, remote, timeout.Token);
    }

    /// <summary>A DER SEQUENCE holding <paramref name="content"/> as an OCTET STRING: the shape of a PKIMessage, as far as the proxy looks.</summary>
    internal static byte[] Sequence(byte[] content)
    {
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteOctetString(content);
        }

        return writer.Encode();
    }
}
