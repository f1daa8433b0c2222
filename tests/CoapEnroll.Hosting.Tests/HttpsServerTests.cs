using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Testing;
using CoapEnroll.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CoapEnroll.Hosting.Tests;

/// <summary>
/// The HTTPS listener: the server credential in TLS, routes only from sources that name https://, and the client's certificate chain
/// as sent handed to the handlers unjudged (<see cref="TlsPeerCertificatesFeature"/>).
/// </summary>
public sealed class HttpsServerTests
{
    [Fact]
    public async Task Sources_land_on_the_listeners_they_name_and_handlers_see_the_client_chain_as_sent()
    {
        using var dir = new TempDirectory("coapenroll-https-");
        using IHost host = Build(dir.File("data"));
        await host.StartAsync();
        HttpsServerService https = host.Services.GetRequiredService<HttpsServerService>();
        HttpServerService http = host.Services.GetRequiredService<HttpServerService>();
        Assert.Equal(IPAddress.Loopback, https.LocalEndPoint!.Address);
        Assert.Equal(new Uri($"https://127.0.0.1:{https.LocalEndPoint.Port}/"), https.LocalUri);
        ServerCredential credential = host.Services.GetRequiredService<ServerCredential>();
        using X509Certificate2 root = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(dir.File("data"), "trust-anchor.pem")));

        // A chain of nobody's: leaf and intermediate under a root the server has never seen, accepted by TLS and handed up as sent.
        (X509Certificate2 leaf, X509Certificate2 intermediate) = IssueChain();
        using X509Certificate2 leafToDispose = leaf;
        using X509Certificate2 intermediateToDispose = intermediate;
        X509Certificate2? presented = null;
        using var withCertificate = Client(root, SslStreamCertificateContext.Create(leaf, [intermediate], offline: true), c => presented = c);
        Assert.Equal("CN=nobody's leaf|CN=nobody's intermediate", await withCertificate.GetStringAsync(new Uri(https.LocalUri!, "/chain")));
        Assert.Equal(credential.Certificate.Thumbprint, presented!.Thumbprint);

        using var withoutCertificate = Client(root, null, _ => { });
        Assert.Equal("", await withoutCertificate.GetStringAsync(new Uri(https.LocalUri!, "/chain")));
        Assert.Equal(HttpStatusCode.NotFound, (await withoutCertificate.GetAsync(new Uri(https.LocalUri!, "/plain"))).StatusCode);

        using var plain = new HttpClient();
        Assert.Equal(HttpStatusCode.NotFound, (await plain.GetAsync(new Uri(http.LocalUri!, "/chain"))).StatusCode);
        Assert.Equal("plain", await plain.GetStringAsync(new Uri(http.LocalUri!, "/plain")));
        await host.StopAsync();
        Assert.Null(https.LocalEndPoint);
    }

    [Fact]
    public async Task Disabled_listens_nowhere_and_a_bad_section_stops_the_start()
    {
        using var dir = new TempDirectory("coapenroll-https-");
        using (IHost off = Build(dir.File("data"), new() { ["Https:Enabled"] = "false" }))
        {
            await off.StartAsync();
            Assert.Null(off.Services.GetRequiredService<HttpsServerService>().LocalEndPoint);
            await off.StopAsync();
        }

        using IHost bad = Build(dir.File("data"), new() { ["Https:HandshakeTimeoutSeconds"] = "0" });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => bad.StartAsync());
        Assert.Contains("Https:HandshakeTimeoutSeconds", ex.Message, StringComparison.Ordinal);
    }

    private static HttpClient Client(X509Certificate2 root, SslStreamCertificateContext? clientCertificate, Action<X509Certificate2> seen)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificateContext = clientCertificate,
                RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                {
                    // The server's chain must verify to the demo root with what the server sent.
                    using var verify = new X509Chain();
                    verify.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    verify.ChainPolicy.CustomTrustStore.Add(root);
                    verify.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    verify.ChainPolicy.ExtraStore.AddRange(chain!.ChainPolicy.ExtraStore);
                    var server = (X509Certificate2)certificate!;
                    seen(server);
                    return verify.Build(server);
                },
            },
        };
        return new HttpClient(handler);
    }

    private static (X509Certificate2 Leaf, X509Certificate2 Intermediate) IssueChain()
    {
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var rootRequest = new CertificateRequest("CN=nobody's root", rootKey, HashAlgorithmName.SHA256);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 root = rootRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var intermediateRequest = new CertificateRequest("CN=nobody's intermediate", intermediateKey, HashAlgorithmName.SHA256);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 intermediatePublic = intermediateRequest.Create(root, now.AddMinutes(-5), now.AddDays(1), [1]);
        X509Certificate2 intermediate = intermediatePublic.CopyWithPrivateKey(intermediateKey);
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=nobody's leaf", leafKey, HashAlgorithmName.SHA256);
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 leafPublic = leafRequest.Create(intermediate, now.AddMinutes(-5), now.AddDays(1), [2]);

        // A persisted-enough key for SslStream on every platform: round-trip through PKCS#12.
        using X509Certificate2 withKey = leafPublic.CopyWithPrivateKey(leafKey);
        X509Certificate2 leaf = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return (leaf, X509CertificateLoader.LoadCertificate(intermediate.RawData));
    }

    private static IHost Build(string dataDirectory, Dictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var configuration = new Dictionary<string, string?>
        {
            ["DataDirectory"] = dataDirectory,
            ["Http:Bind"] = "127.0.0.1",
            ["Http:Port"] = "0",
            ["Https:Bind"] = "127.0.0.1",
            ["Https:Port"] = "0",
        };
        foreach (var (key, value) in settings ?? [])
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddCoapEnrollCertification(builder.Configuration);
        builder.Services.AddSingleton<IHttpEndpointSource>(new ChainSource());
        builder.Services.AddSingleton<IHttpEndpointSource>(new PlainSource());
        builder.Services.AddCoapEnrollHttpServer(builder.Configuration);
        builder.Services.AddCoapEnrollHttpsServer(builder.Configuration);
        return builder.Build();
    }

    /// <summary>GET /chain on https:// answers the subjects of the client's chain as the listener handed them up.</summary>
    private sealed class ChainSource : IHttpEndpointSource
    {
        public HttpListenerKind Listeners => HttpListenerKind.Https;

        public void MapEndpoints(IEndpointRouteBuilder endpoints) =>
            endpoints.MapGet("/chain", (HttpContext context) =>
                string.Join("|", context.Features.Get<TlsPeerCertificatesFeature>()?.Certificates.Select(c => c.Subject) ?? ["(no feature)"]));
    }

    /// <summary>GET /plain on http:// only.</summary>
    private sealed class PlainSource : IHttpEndpointSource
    {
        public HttpListenerKind Listeners => HttpListenerKind.Http;

        public void MapEndpoints(IEndpointRouteBuilder endpoints) => endpoints.MapGet("/plain", () => "plain");
    }
}
