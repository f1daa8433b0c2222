using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;
using Microsoft.AspNetCore.Http;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// The CMP proxy to an https:// upstream: <c>coapenroll serve --upstream-cmp https://… --upstream-cert --upstream-key
/// --upstream-trust</c> in front of a TLS front (Kestrel, requiring a client certificate) that hands each request to
/// <c>openssl cmp</c>'s mock; and the refusals when the upstream's certificate does not chain to the configured anchors.
/// </summary>
[Trait("Needs", "libcoap")]
public sealed class CmpProxyHttpsTests : CmpTestBase
{
    /// <summary>A TLS PKI of the test's own: a CA, the upstream's server certificate (IP 127.0.0.1) and the proxy's client certificate.</summary>
    private sealed class TlsPki : IDisposable
    {
        public TlsPki(string directory)
        {
            // One instant for every validity period: leaves end a day before their CA.
            DateTimeOffset now = DateTimeOffset.UtcNow;
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest("CN=upstream-tls-ca", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            Ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
            CaFile = Path.Combine(directory, "upstream-tls-ca.pem");
            File.WriteAllText(CaFile, Ca.ExportCertificatePem());

            Server = Issue("CN=upstream", [new Oid("1.3.6.1.5.5.7.3.1")], request =>
            {
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                request.CertificateExtensions.Add(san.Build());
            }, out _);
            Client = Issue("CN=edge-proxy", [new Oid("1.3.6.1.5.5.7.3.2")], null, out ECDsa clientKey);
            ClientFile = Path.Combine(directory, "edge-proxy.pem");
            ClientKeyFile = Path.Combine(directory, "edge-proxy.key");
            File.WriteAllText(ClientFile, Client.ExportCertificatePem() + "\n" + Ca.ExportCertificatePem() + "\n");
            File.WriteAllText(ClientKeyFile, clientKey.ExportPkcs8PrivateKeyPem());
            clientKey.Dispose();

            using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var other = new CertificateRequest("CN=some-other-ca", otherKey, HashAlgorithmName.SHA256);
            other.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            using X509Certificate2 otherCa = other.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
            OtherCaFile = Path.Combine(directory, "other-ca.pem");
            File.WriteAllText(OtherCaFile, otherCa.ExportCertificatePem());

            X509Certificate2 Issue(string subject, Oid[] usages, Action<CertificateRequest>? configure, out ECDsa key)
            {
                key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
                request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages], false));
                configure?.Invoke(request);
                using X509Certificate2 issued = request.Create(Ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(8));
                using X509Certificate2 withKey = issued.CopyWithPrivateKey(key);

                // Through PKCS#12, so that the TLS server gets a key it may use on every platform.
                return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
            }
        }

        public X509Certificate2 Ca { get; }

        public X509Certificate2 Server { get; }

        public X509Certificate2 Client { get; }

        public string CaFile { get; }

        public string ClientFile { get; }

        public string ClientKeyFile { get; }

        public string OtherCaFile { get; }

        public void Dispose()
        {
            Ca.Dispose();
            Server.Dispose();
            Client.Dispose();
        }
    }

    /// <summary>
    /// The TLS front: requires a client certificate, refuses (403) any but the proxy's, and passes every request on to the mock
    /// unchanged, answering with what the mock answered.
    /// </summary>
    private static Task<KestrelUpstream> TlsFrontAsync(TlsPki pki, OpenSslMockCmpServer mock, HttpClient toMock, List<string> seenClients) =>
        KestrelUpstream.StartAsync(async context =>
        {
            X509Certificate2? client = context.Connection.ClientCertificate;
            lock (seenClients)
            {
                seenClients.Add(client?.Subject ?? "(none)");
            }

            if (client?.Thumbprint != pki.Client.Thumbprint)
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            using var content = new ByteArrayContent(body.ToArray());
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(context.Request.ContentType!);
            using HttpResponseMessage answer = await toMock.PostAsync(mock.Url(context.Request.Path.Value!), content);
            context.Response.StatusCode = (int)answer.StatusCode;
            context.Response.ContentType = answer.Content.Headers.ContentType?.ToString();
            await context.Response.Body.WriteAsync(await answer.Content.ReadAsByteArrayAsync());
        }, pki.Server, requireClientCertificate: true);

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

    [Fact]
    public async Task Serve_WithUpstreamCmpHttps_TrustAndClientCertificate_EnrollsThroughTheTlsFront()
    {
        var (ca, leaf, leafKey) = await MockPkiAsync();
        using var pki = new TlsPki(OpenSsl.WorkingDirectory);
        await using var mock = await OpenSslMockCmpServer.StartAsync(leaf);
        using var toMock = new HttpClient();
        var seenClients = new List<string>();
        await using var front = await TlsFrontAsync(pki, mock, toMock, seenClients);

        string pskHex = Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(CmpServerHost.PskText));
        await using var serve = await ServeProcess.StartAsync(OpenSsl.WorkingDirectory, "--upstream-cmp", front.Url("/pkix/"),
            "--upstream-cert", pki.ClientFile, "--upstream-key", pki.ClientKeyFile, "--upstream-trust", pki.CaFile,
            $"--Dtls:Psk:{CmpServerHost.PskIdentity}={pskHex}");
        Assert.Contains("CMP over CoAP is forwarded to " + front.Url("/pkix/"), serve.Output, StringComparison.Ordinal);
        Assert.Contains("client certificate: " + Path.GetFullPath(pki.ClientFile), serve.Output, StringComparison.Ordinal);

        await using var relay = new CoapCmpRelay("openssl", serve.Uri("/.well-known/cmp"), OpenSsl.WorkingDirectory,
            "-u", CmpServerHost.PskIdentity, "-k", CmpServerHost.PskText);
        ProcessResult ir = await OpenSsl.RunAsync("cmp", "-cmd", "ir", "-server", relay.Server, "-ref", "client-ref", "-secret", "pass:" + OpenSslMockCmpServer.Secret,
            "-newkey", leafKey, "-subject", "/CN=mock-leaf", "-certout", OpenSsl.File("ir.pem"));
        Assert.True(ir.ExitCode == 0, ir.Describe() + relay.Log + serve.Output);
        ProcessResult verify = await OpenSsl.RunAsync("verify", "-CAfile", ca, OpenSsl.File("ir.pem"));
        Assert.True(verify.ExitCode == 0 && verify.StandardOutput.Contains(": OK", StringComparison.Ordinal), verify.Describe());
        Assert.Equal(["2.04", "2.04"], relay.Codes);

        // Both requests (ir, certConf) went over TLS with the proxy's client certificate.
        Assert.Equal(["CN=edge-proxy", "CN=edge-proxy"], seenClients);
    }

    [Fact]
    public async Task An_upstream_certificate_outside_the_configured_trust_is_5_02_and_never_reaches_the_upstream()
    {
        var (_, leaf, _) = await MockPkiAsync();
        using var pki = new TlsPki(OpenSsl.WorkingDirectory);
        await using var mock = await OpenSslMockCmpServer.StartAsync(leaf);
        using var toMock = new HttpClient();
        var seenClients = new List<string>();
        await using var front = await TlsFrontAsync(pki, mock, toMock, seenClients);
        byte[] message = CmpProxyInteropTests.Sequence([1, 2, 3]);

        // Anchors that did not issue the upstream's certificate; then none at all (the system's store, which does not know the test CA).
        foreach (string? trust in new[] { pki.OtherCaFile, null })
        {
            await using var proxy = await CmpServerHost.StartAsync(new Dictionary<string, string?>
            {
                ["Upstream:Cmp"] = front.Url("/pkix/"),
                ["Upstream:CertificateFile"] = pki.ClientFile,
                ["Upstream:KeyFile"] = pki.ClientKeyFile,
                ["Upstream:TrustFile"] = trust,
            });
            CoapMessage response = await CmpProxyInteropTests.PostAsync(proxy.CoapPort, message);
            Assert.True(response.Code == CoapCode.BadGateway, $"{response.Code} {response.PayloadText}");
            Assert.Contains("TLS", response.PayloadText, StringComparison.Ordinal);
        }

        // Without the client certificate the front refuses the handshake: also 5.02, not a hang.
        await using (var anonymous = await CmpServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["Upstream:Cmp"] = front.Url("/pkix/"),
            ["Upstream:TrustFile"] = pki.CaFile,
        }))
        {
            CoapMessage response = await CmpProxyInteropTests.PostAsync(anonymous.CoapPort, message);
            Assert.True(response.Code == CoapCode.BadGateway, $"{response.Code} {response.PayloadText}");
        }

        Assert.Empty(seenClients);
    }
}
