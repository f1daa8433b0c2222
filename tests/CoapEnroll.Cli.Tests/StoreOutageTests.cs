using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Est;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// The server while its PostgreSQL store is down (stopped as an operator restarting it would): every request that needs the store
/// is refused as unavailable with a retry time — EST-coaps 5.03 with Max-Age (RFC 9148 §4.7), EST over HTTPS 503 with Retry-After
/// (RFC 9110 §15.6.4), CMP an error with failInfo systemUnavail (RFC 9483 §3.6.4) — never as the server's own failure (5.00, 500,
/// systemFailure), nothing is issued, and once the database is back the same clients enroll. Driven by libcoap's coap-client,
/// curl and openssl cmp. A cluster of its own: stopping the shared one would stop the other PostgreSQL tests' servers.
/// </summary>
[Trait("Needs", "postgres")]
public sealed class StoreOutageTests : IAsyncLifetime
{
    private PostgresCluster? _cluster;
    private readonly string _scratch = EstTools.Scratch();

    private PostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster starts with the test");

    public async Task InitializeAsync() => _cluster = await PostgresCluster.StartAsync(CancellationToken.None);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        Directory.Delete(_scratch, recursive: true);
    }

    [Fact]
    public async Task StoppedDatabase_EveryProtocolAnswersUnavailableWithARetryTime_NothingIssued_ThenServed()
    {
        string connectionString = await Cluster.CreateDatabaseAsync(CancellationToken.None);
        await using EstHttpsHost server = await EstHttpsHost.StartAsync(new Dictionary<string, string?>
        {
            ["Store:Provider"] = "postgres",
            ["Store:ConnectionString"] = connectionString,
        });
        Assert.Equal(200, (await server.PostCsrAsync("before", "simpleenroll", await server.NewCsrAsync("before", "/CN=demo-device-1"), server.DemoCertificate, server.DemoKey)).Status);
        int before = await CountAsync(server);

        await Cluster.StopAsync(CancellationToken.None);

        // EST-coaps /sen from libcoap's client (OpenSSL flavour), authenticated by the demo device certificate.
        (_, string csr) = await EstTools.NewCsrAsync(_scratch, "coaps", "/CN=demo-device-1");
        ProcessResult coaps = await EstTools.CoapClientAsync("openssl", "-v", "7", "-m", "post", "-t", "286", "-f", csr, "-c", server.DemoCertificate,
            "-j", server.DemoKey, "-R", server.TrustAnchor, $"coaps://127.0.0.1:{server.CoapsPort}/.well-known/est/sen");
        string coapsText = coaps.StandardOutput + coaps.StandardError;
        Assert.True(coapsText.Contains("5.03", StringComparison.Ordinal) && coapsText.Contains("the certificate store is unavailable; retry later", StringComparison.Ordinal),
            coaps.Describe());
        Assert.Contains($"c:5.03 i:", coapsText, StringComparison.Ordinal);
        Assert.Contains($"[ Max-Age:{CaUnavailableException.DefaultRetryAfterSeconds} ]", coapsText, StringComparison.Ordinal);

        // EST over HTTPS from curl.
        CurlAnswer https = await server.PostCsrAsync("during", "simpleenroll", await server.NewCsrAsync("during", "/CN=demo-device-1"), server.DemoCertificate, server.DemoKey);
        Assert.True(https.Status == 503, https.Describe());
        Assert.True(uint.TryParse(https.Header("Retry-After"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
            out uint retryAfter) && retryAfter > 0, https.Describe());
        Assert.Contains("the certificate store is unavailable", https.Body, StringComparison.Ordinal);

        // CMP ir from openssl cmp over HTTP with the demo MAC secret; openssl checks the error message's protection.
        string cmpKey = Path.Combine(_scratch, "cmp.key");
        ProcessResult cmp = await OpenSslCmpAsync(server, cmpKey, Path.Combine(_scratch, "cmp.pem"));
        Assert.NotEqual(0, cmp.ExitCode);
        string cmpText = cmp.StandardOutput + cmp.StandardError;
        Assert.True(cmpText.Contains("systemUnavail", StringComparison.Ordinal) && cmpText.Contains("the certificate store is unavailable", StringComparison.Ordinal),
            cmp.Describe());
        Assert.False(File.Exists(Path.Combine(_scratch, "cmp.pem")));

        using (var monitoring = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") })
        using (HttpResponseMessage ready = await monitoring.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        // Back: the pool's connections from before the restart are broken; a client that waits as told is served within a few tries.
        await Cluster.StartAgainAsync(CancellationToken.None);
        Assert.Equal(before, await CountAsync(server));
        CurlAnswer served = await RetryAsync(i => server.PostCsrAsync($"after{i}", "simpleenroll", server.File("during.b64"), server.DemoCertificate, server.DemoKey),
            answer => answer.Status != 503);
        Assert.True(served.Status == 200, served.Describe());
        ProcessResult cmpServed = await RetryAsync(_ => OpenSslCmpAsync(server, cmpKey, Path.Combine(_scratch, "cmp.pem")),
            result => !(result.StandardOutput + result.StandardError).Contains("systemUnavail", StringComparison.Ordinal));
        Assert.True(cmpServed.ExitCode == 0, cmpServed.Describe());
        await server.VerifyAsync(Path.Combine(_scratch, "cmp.pem"));
        Assert.Equal(before + 2, await CountAsync(server));
    }

    private static async Task<int> CountAsync(EstHttpsHost server) => (await server.Store.ListCertificatesAsync(10_000, CancellationToken.None)).Count;

    private static async Task<ProcessResult> OpenSslCmpAsync(EstHttpsHost server, string key, string certificateOut)
    {
        if (!File.Exists(key))
        {
            await server.MustOpenSslAsync("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key);
        }

        return await server.OpenSslAsync("cmp", "-cmd", "ir", "-server", $"127.0.0.1:{server.HttpPort}/.well-known/cmp", "-ref", "demo",
            "-secret", "pass:" + server.DemoCmpSecret, "-newkey", key, "-subject", "/CN=device-17", "-implicit_confirm", "-certout", certificateOut);
    }

    private static async Task<T> RetryAsync<T>(Func<int, Task<T>> attempt, Func<T, bool> done)
    {
        T result = await attempt(0);
        for (int i = 1; i < 10 && !done(result); i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            result = await attempt(i);
        }

        return result;
    }
}
