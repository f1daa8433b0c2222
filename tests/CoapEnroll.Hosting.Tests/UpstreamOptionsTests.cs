using System.Net;
using CoapEnroll.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Hosting.Tests;

/// <summary>The <c>Upstream</c> section: its checks, its binding, and the one pooled client and bounds it builds.</summary>
public sealed class UpstreamOptionsTests
{
    public static TheoryData<string, string> BadUris => new()
    {
        { "ca.example/.well-known/cmp", "not an absolute http:// or https:// URL" },
        { "ftp://ca.example/cmp", "not an absolute http:// or https:// URL" },
        { "coap://ca.example/.well-known/cmp", "not an absolute http:// or https:// URL" },
        { "http://ca.example/cmp?x=1", "no query" },
        { "https://user:pw@ca.example/cmp", "no query, fragment or user information" },
    };

    [Theory]
    [MemberData(nameof(BadUris))]
    public void A_bad_upstream_URI_is_named_with_its_key(string uri, string expected)
    {
        string? problem = new UpstreamOptions { Cmp = uri }.Validate();
        Assert.NotNull(problem);
        Assert.StartsWith("Upstream:Cmp '" + uri + "'", problem, StringComparison.Ordinal);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_must_exist_and_certificate_and_key_go_together()
    {
        using var dir = new TempDirectory("coapenroll-upstream-");
        File.WriteAllText(dir.File("a.pem"), "x");
        Assert.Null(new UpstreamOptions { Cmp = "https://ca.example:8443/.well-known/cmp", TrustFile = dir.File("a.pem") }.Validate());
        Assert.Contains("go together", new UpstreamOptions { CertificateFile = dir.File("a.pem") }.Validate(), StringComparison.Ordinal);
        Assert.Contains("go together", new UpstreamOptions { KeyFile = dir.File("a.pem") }.Validate(), StringComparison.Ordinal);
        Assert.Equal($"Upstream:TrustFile '{dir.File("missing.pem")}': no such file.", new UpstreamOptions { TrustFile = dir.File("missing.pem") }.Validate());
        Assert.Contains("Upstream:KeyFile", new UpstreamOptions { CertificateFile = dir.File("a.pem"), KeyFile = dir.File("nope") }.Validate(), StringComparison.Ordinal);
        Assert.Contains("Upstream:TimeoutSeconds", new UpstreamOptions { TimeoutSeconds = 0 }.Validate(), StringComparison.Ordinal);
        Assert.Contains("Upstream:MaxConcurrent ", new UpstreamOptions { MaxConcurrent = 0 }.Validate(), StringComparison.Ordinal);
        Assert.Contains("Upstream:MaxConcurrentPerPeer", new UpstreamOptions { MaxConcurrentPerPeer = 0 }.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_section_binds_to_one_shared_client_and_limiter()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Upstream:Cmp"] = "http://127.0.0.1:9/pkix/",
            ["Upstream:TimeoutSeconds"] = "2.5",
            ["Upstream:MaxConcurrent"] = "7",
            ["Upstream:MaxConcurrentPerPeer"] = "3",
        }).Build();
        var services = new ServiceCollection();
        services.AddCoapEnrollUpstream(configuration);
        services.AddCoapEnrollUpstream(configuration);
        await using ServiceProvider provider = services.BuildServiceProvider();

        UpstreamHttp upstream = provider.GetRequiredService<UpstreamHttp>();
        Assert.Same(upstream, Assert.Single(provider.GetServices<UpstreamHttp>()));
        Assert.Equal(new Uri("http://127.0.0.1:9/pkix/"), upstream.Options.CmpUri);
        Assert.Equal(TimeSpan.FromSeconds(2.5), upstream.Options.Timeout);
        Assert.Equal(7, upstream.Limiter.MaxTotal);
        Assert.Equal(3, upstream.Limiter.MaxPerPeer);
        Assert.Same(await upstream.GetHttpClientAsync(CancellationToken.None), await upstream.GetHttpClientAsync(CancellationToken.None));
        Assert.Equal(7, provider.GetRequiredService<IOptions<UpstreamOptions>>().Value.MaxConcurrent);
    }

    [Fact]
    public async Task The_handler_pools_follows_no_redirects_and_uses_no_proxy()
    {
        using var handler = await UpstreamHttp.CreateHandlerAsync(new UpstreamOptions { TimeoutSeconds = 4, MaxConcurrent = 5 }, CancellationToken.None);
        Assert.False(handler.AllowAutoRedirect);
        Assert.False(handler.UseProxy);
        Assert.False(handler.UseCookies);
        Assert.Equal(DecompressionMethods.None, handler.AutomaticDecompression);
        Assert.Equal(5, handler.MaxConnectionsPerServer);
        Assert.Equal(TimeSpan.FromSeconds(4), handler.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(5), handler.PooledConnectionLifetime);
        Assert.Null(handler.SslOptions.RemoteCertificateValidationCallback);
        Assert.Null(handler.SslOptions.ClientCertificateContext);
    }

    [Fact]
    public async Task Unusable_settings_stop_the_handler()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => UpstreamHttp.CreateHandlerAsync(new UpstreamOptions { Cmp = "nope" }, CancellationToken.None));
    }
}
