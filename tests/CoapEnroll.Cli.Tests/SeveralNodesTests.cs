using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Ca.Postgres;
using CoapEnroll.Cli.Tests.Cmp;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cmp;
using CoapEnroll.Dtls;
using CoapEnroll.Est;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// Issue 13 item 2: three <c>serve</c> processes sharing one PostgreSQL database (<see cref="ServeNodes"/>) act as one CA. Each
/// test looks only at the certificates and requests it made (the nodes and the database are shared by these tests, which run one
/// after another in the PostgreSQL collection).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SeveralNodesTests(PostgresNodesFixture fixture)
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task ConcurrentEnrollments_SpreadOverThreeNodes_GetDistinctSerials_EachStoredOnce()
    {
        ServeNodes nodes = await fixture.NodesAsync();
        using var trust = X509CertificateLoader.LoadCertificateFromFile(nodes.TrustAnchor);
        using X509Certificate2 device = nodes.LoadDemoDevice();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        const int perNode = 8;
        var received = new ConcurrentBag<(int Node, X509Certificate2 Certificate, byte[] PublicKey)>();

        // Two workers per node, each enrolling a new key in a new DTLS session at a time, all nodes at once.
        await Task.WhenAll(Enumerable.Range(0, 6).Select(worker => Task.Run(async () =>
        {
            int node = worker % 3;
            for (int i = 0; i < perNode / 2; i++)
            {
                using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(EndPoint(nodes, node), DtlsOptions(trust, device), timeout.Token);
                await using var client = new EstCoapsClient(channel);

                // The session's CID starts with the node's prefix: what a CID-aware balancer would route on.
                Assert.Equal(ServeNodes.ConnectionIdPrefix(node), Convert.ToHexString(channel.RemoteEndPoint.PeerConnectionId.Span[..1]));
                X509Certificate2 issued = await client.EnrollAsync(device.SubjectName, key, cancellationToken: timeout.Token);
                received.Add((node, issued, key.ExportSubjectPublicKeyInfo()));
            }
        })));

        Assert.Equal(3 * perNode, received.Count);
        Assert.Equal(received.Count, received.Select(r => r.Certificate.SerialNumber).Distinct(StringComparer.Ordinal).Count());
        Assert.All(received, r => Assert.Equal(r.PublicKey, r.Certificate.PublicKey.ExportSubjectPublicKeyInfo()));
        await using PostgresCertificateStore store = await PostgresCertificateStore.OpenAsync(nodes.ConnectionString, null, CancellationToken.None);
        IReadOnlyList<StoredCertificate> all = await store.ListCertificatesAsync(10_000, CancellationToken.None);
        foreach ((int node, X509Certificate2 certificate, _) in received)
        {
            StoredCertificate stored = Assert.Single(all, c => c.SerialNumber == certificate.SerialNumber);
            Assert.Equal(certificate.RawData, stored.Der);
            StoredRequest request = (await store.GetRequestAsync(stored.RequestId, CancellationToken.None))!;
            Assert.Equal(RequestStatus.Issued, request.Status);
            certificate.Dispose();
        }

        // Every node issued some.
        Assert.Equal([0, 1, 2], received.Select(r => r.Node).Distinct().Order());
    }

    [Fact]
    public async Task TheSameRequest_ReachingTwoNodesAtOnce_IsIssuedOnce_AndBothAnswersCarryThatCertificate()
    {
        ServeNodes nodes = await fixture.NodesAsync();
        using var trust = X509CertificateLoader.LoadCertificateFromFile(nodes.TrustAnchor);
        using X509Certificate2 device = nodes.LoadDemoDevice();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using PostgresCertificateStore store = await PostgresCertificateStore.OpenAsync(nodes.ConnectionString, null, CancellationToken.None);

        for (int round = 0; round < 4; round++)
        {
            // Both sessions first, so that the two requests leave together: the same CSR (not linked to either session), same device.
            await using var first = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(EndPoint(nodes, round % 3), DtlsOptions(trust, device), timeout.Token));
            await using var second = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(EndPoint(nodes, (round + 1) % 3), DtlsOptions(trust, device), timeout.Token));
            using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            byte[] csr = first.CreateCsr(device.SubjectName, key, linkProofOfPossession: false);
            int before = (await store.ListCertificatesAsync(10_000, CancellationToken.None)).Count;

            X509Certificate2[] answers = await Task.WhenAll(
                Task.Run(() => first.EnrollAsync(csr, cancellationToken: timeout.Token)),
                Task.Run(() => second.EnrollAsync(csr, cancellationToken: timeout.Token)));

            Assert.Equal(answers[0].RawData, answers[1].RawData);
            IReadOnlyList<StoredCertificate> after = await store.ListCertificatesAsync(10_000, CancellationToken.None);
            Assert.Equal(before + 1, after.Count);
            Assert.Single(after, c => c.PublicKeySha256 == Convert.ToHexString(SHA256.HashData(key.ExportSubjectPublicKeyInfo())));
            answers[0].Dispose();
            answers[1].Dispose();
        }
    }

    [Fact]
    public async Task ARequestHeldForApproval_ApprovedWithAnotherNodesCli_IsDeliveredByAThirdNode_AndConfirmedAtTheFirst()
    {
        ServeNodes nodes = await fixture.NodesAsync();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] id = CmpRequests.NewId();
        string held = $"/.well-known/cmp/p/{ServeNodes.HeldProfile}";
        PkiMessage ir = Mac(CmpRequests.CertificateRequest(PkiBodyType.Ir, Header(id, null), new X500DistinguishedName("CN=held-across-nodes"), key));
        PkiMessage waiting = await PostAsync(nodes.CmpUri(0, held), ir);
        CertResponse response = Assert.Single(Assert.IsType<CertRepMessageBody>(waiting.Body).Responses);
        Assert.True(response.Status.Status == (int)PkiStatus.Waiting, string.Join("; ", response.Status.StatusString ?? []));

        // Polled at node 2 before anyone decided: still waiting.
        PkiMessage pollRep = await PostAsync(nodes.CmpUri(2, held), Mac(CmpRequests.Poll(Header(id, waiting.Header.SenderNonce))));
        Assert.IsType<PollRepBody>(pollRep.Body);

        // The operator approves with node 1's CLI (its data directory, the shared store).
        long requestId;
        await using (PostgresCertificateStore store = await PostgresCertificateStore.OpenAsync(nodes.ConnectionString, null, CancellationToken.None))
        {
            requestId = Assert.Single(await store.ListPendingRequestsAsync(100, CancellationToken.None), r => r.Profile == ServeNodes.HeldProfile).Id;
        }

        CliResult approve = await CliRunner.RunAsync(["requests", "approve", requestId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--data", nodes.Nodes[1].DataDirectory, .. nodes.CliSettings]);
        Assert.True(approve.ExitCode == 0, approve.Describe());

        PkiMessage ip = await PostAsync(nodes.CmpUri(2, held), Mac(CmpRequests.Poll(Header(id, pollRep.Header.SenderNonce))));
        CertResponse issued = Assert.Single(Assert.IsType<CertRepMessageBody>(ip.Body).Responses);
        Assert.True(issued.Status.Status == (int)PkiStatus.Accepted, string.Join("; ", issued.Status.StatusString ?? []));
        using X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(issued.CertifiedKeyPair!.Certificate!.Value.Span);
        Assert.Equal("CN=held-across-nodes", certificate.Subject);

        PkiMessage pkiConf = await PostAsync(nodes.CmpUri(0, held), Mac(CmpRequests.CertificateConfirmation(Header(id, ip.Header.SenderNonce), certificate)));
        Assert.IsType<PkiConfBody>(pkiConf.Body);
        await using (PostgresCertificateStore store = await PostgresCertificateStore.OpenAsync(nodes.ConnectionString, null, CancellationToken.None))
        {
            StoredCertificate stored = (await store.GetCertificateAsync(certificate.SerialNumber, CancellationToken.None))!;
            Assert.Equal((requestId, CertificateStatus.Active), (stored.RequestId, stored.Status));
        }
    }

    [Fact]
    [Trait("Needs", "openssl")]
    public async Task OpenSslCmp_ItsIrAnsweredByOneNode_ItsCertConfByAnother()
    {
        ServeNodes nodes = await fixture.NodesAsync();
        using var openssl = new OpenSslCmp();

        // A balancer that sends each HTTP request to the next node: the ir to node 0, the certConf to node 1.
        var routed = new ConcurrentQueue<(int Node, PkiBodyType Body)>();
        int next = 0;
        await using KestrelUpstream balancer = await KestrelUpstream.StartAsync(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            int node = (Interlocked.Increment(ref next) - 1) % 2;
            routed.Enqueue((node, PkiMessageCodec.Decode(body.ToArray()).Message?.Body.BodyType ?? PkiBodyType.Error));
            using var content = new ByteArrayContent(body.ToArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("application/pkixcmp");
            using HttpResponseMessage answer = await s_http.PostAsync(nodes.CmpUri(node, context.Request.Path), content, context.RequestAborted);
            context.Response.StatusCode = (int)answer.StatusCode;
            context.Response.ContentType = answer.Content.Headers.ContentType?.ToString();
            await context.Response.Body.WriteAsync(await answer.Content.ReadAsByteArrayAsync(context.RequestAborted), context.RequestAborted);
        });

        string key = await openssl.NewKeyAsync("k.pem");
        await openssl.MustAsync("cmp", "-cmd", "ir", "-server", $"127.0.0.1:{balancer.Port}/.well-known/cmp", "-ref", ServeNodes.Reference,
            "-secret", "pass:" + ServeNodes.Secret, "-newkey", key, "-subject", "/CN=openssl-across-nodes", "-certout", openssl.File("c.pem"));

        Assert.Equal([(0, PkiBodyType.Ir), (1, PkiBodyType.CertConf)], routed.ToArray());
        using X509Certificate2 issued = OpenSslCmp.Load(openssl.File("c.pem"));
        await using PostgresCertificateStore store = await PostgresCertificateStore.OpenAsync(nodes.ConnectionString, null, CancellationToken.None);
        Assert.Equal(CertificateStatus.Active, (await store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.Status);
    }

    private static IPEndPoint EndPoint(ServeNodes nodes, int node) => new(IPAddress.Loopback, nodes.Nodes[node].SecurePort);

    private static DtlsClientOptions DtlsOptions(X509Certificate2 trust, X509Certificate2 clientCertificate)
    {
        var options = new DtlsClientOptions { ClientCertificate = clientCertificate, ServerName = "localhost" };
        options.ServerCertificateTrustAnchors.Add(trust);
        return options;
    }

    private static PkiHeader Header(byte[] transactionId, ReadOnlyMemory<byte>? recipNonce) =>
        CmpRequests.Header(new X500DistinguishedName("CN=" + ServeNodes.Reference), null, Encoding.UTF8.GetBytes(ServeNodes.Reference), transactionId, recipNonce);

    private static PkiMessage Mac(PkiMessage message) =>
        CmpProtection.ProtectWithMac(message, Encoding.UTF8.GetBytes(ServeNodes.Secret), CmpMacParameters.PasswordBasedMac(1000));

    private static async Task<PkiMessage> PostAsync(Uri uri, PkiMessage message)
    {
        using var content = new ByteArrayContent(PkiMessageCodec.Encode(message));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/pkixcmp");
        using HttpResponseMessage answer = await s_http.PostAsync(uri, content);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        CmpDecodeResult decoded = PkiMessageCodec.Decode(await answer.Content.ReadAsByteArrayAsync());
        PkiMessage reply = decoded.Message ?? throw new Xunit.Sdk.XunitException($"the answer is no PKIMessage: {decoded.Reason}");
        if (reply.Body is ErrorBody error)
        {
            throw new Xunit.Sdk.XunitException($"error answer: {string.Join("; ", error.StatusInfo.StatusString ?? [])}");
        }

        return reply;
    }
}
