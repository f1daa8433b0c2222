using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using CoapEnroll.Cli.Tests.Cmp;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Hosting;
using CoapEnroll.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// <c>serve</c>'s operations endpoints on http://: <c>/metrics</c> (Prometheus text, read by HttpClient and by curl),
/// <c>/healthz</c> and <c>/readyz</c>.
/// </summary>
public sealed partial class ServeMonitoringTests
{
    [Fact]
    [Trait("Needs", "dtls")]
    public async Task An_enrollment_shows_in_metrics_scraped_by_HttpClient_and_by_curl()
    {
        using var dir = new TempDirectory("coapenroll-metrics-");
        await using var server = await ServeProcess.StartAsync(dir.Path);
        int port = await server.WaitForHttpPortAsync();
        string http = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";

        // Before any enrollment the counter has no issued sample: what is found below comes from the enrollment.
        using var client = new HttpClient();
        PrometheusText before = new(await client.GetStringAsync(new Uri(http + "/metrics")));
        Assert.False(before.Has("enrollment_requests_total", "outcome=issued"), before.Text);

        // The demo device's enrollment as serve printed it: EST-coaps over DTLS with the demo IDevID.
        string enroll = await server.WaitForLogAsync("Enroll the demo device: ");
        string scratch = dir.File("device");
        Directory.CreateDirectory(scratch);
        ProcessResult enrolled = await PrintedCommand.RunAsync(enroll, scratch);
        Assert.True(enrolled.ExitCode == 0, $"{enrolled.Describe()}{Environment.NewLine}{server.Output}");

        using (HttpResponseMessage ready = await client.GetAsync(new Uri(http + "/readyz")))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
        }

        using (HttpResponseMessage scraped = await client.GetAsync(new Uri(http + "/metrics")))
        {
            Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
            Assert.StartsWith("text/plain", scraped.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            var metrics = new PrometheusText(await scraped.Content.ReadAsStringAsync());
            Assert.True(metrics.Sum("enrollment_requests_total", "protocol=est-coaps", "operation=enroll", "outcome=issued") == 1, metrics.Text);
            Assert.False(metrics.Has("enrollment_requests_total", "outcome=refused"), metrics.Text);
            Assert.True(metrics.Sum("ca_certificates_issued_total", "protocol=est-coaps") == 1, metrics.Text);
            Assert.True(metrics.Sum("dtls_handshakes_total", "dtls_role=server", "result=completed") >= 1, metrics.Text);
            Assert.True(metrics.Sum("coap_responses_total", "code=2.04") >= 1, metrics.Text);
            Assert.True(metrics.Sum("ca_store_duration_seconds_count", "operation=AddIssued") == 1, metrics.Text);
            Assert.True(metrics.Has("ca_store_duration_seconds_bucket", "operation=AddIssued", "le=0.005"), metrics.Text); // buckets for seconds, not ms
            Assert.True(metrics.Has("ca_requests_awaiting_approval"), metrics.Text);
            Assert.True(metrics.Sum("ca_requests_awaiting_approval") == 0, metrics.Text);

            // HTTP requests by status code, from ASP.NET Core's own meter: the scrape and the readiness check before this one.
            Assert.True(metrics.Sum("http_server_request_duration_seconds_count", "http_response_status_code=200") >= 2, metrics.Text);
        }

        // curl, a scraper that is not .NET: the same text over its own HTTP/1.1 client.
        string curl = RequiredTool.Find("curl", "curl");
        ProcessResult scrapedByCurl = await ExternalProcess.RunAsync(curl, ["-sS", "--fail", http + "/metrics"], TimeSpan.FromSeconds(20));
        Assert.True(scrapedByCurl.ExitCode == 0, scrapedByCurl.Describe());
        var byCurl = new PrometheusText(scrapedByCurl.StandardOutput);
        Assert.True(byCurl.Sum("enrollment_requests_total", "protocol=est-coaps", "operation=enroll", "outcome=issued") == 1, byCurl.Text);

        ProcessResult health = await ExternalProcess.RunAsync(curl, ["-sS", "-w", "%{http_code}", http + "/healthz"], TimeSpan.FromSeconds(20));
        Assert.True(health.ExitCode == 0, health.Describe());
        Assert.Equal("ok\n200", health.StandardOutput);
    }

    [Fact]
    [Trait("Needs", "dtls")]
    public async Task A_request_held_for_approval_is_a_pending_enrollment_and_counted_until_another_process_approves_it()
    {
        using var dir = new TempDirectory("coapenroll-metrics-");
        string[] manual = ["--Ca:Profiles:manual:RequiresApproval=true", "--Ca:Profiles:manual:NamePolicy=AnyName"];
        await using var server = await ServeProcess.StartAsync(dir.Path, manual);
        var http = new Uri($"http://127.0.0.1:{(await server.WaitForHttpPortAsync()).ToString(CultureInfo.InvariantCulture)}");
        using var client = new HttpClient { BaseAddress = http };

        CliResult held = await CliRunner.RunAsync("est", "enroll", "--server", server.Uri("/manual"), "--trust", server.TrustAnchor,
            "--cert", Path.Combine(server.DataDirectory, "demo", "device.pem"), "--key", Path.Combine(server.DataDirectory, "demo", "device.key"),
            "--subject", "CN=manual-1", "--key-out", dir.File("manual.key"), "--csr-out", dir.File("manual.csr"), "--max-wait", "0");
        Assert.True(held.ExitCode == 5, held.Describe());

        var waiting = new PrometheusText(await client.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        Assert.True(waiting.Sum("enrollment_requests_total", "protocol=est-coaps", "outcome=pending") == 1, waiting.Text);
        Assert.True(waiting.Sum("ca_requests_awaiting_approval") == 1, waiting.Text);
        Assert.True(waiting.Sum("ca_store_duration_seconds_count", "operation=AddPending") == 1, waiting.Text);

        // `requests approve` is another process on the same store: the server learns of it when it next reads the count (here the
        // readiness check; otherwise a collection that finds the count older than 10 s).
        CliResult list = await CliRunner.RunAsync(["requests", "list", "--data", server.DataDirectory]);
        Match row = PendingRow().Match(list.Output);
        Assert.True(row.Success, list.Describe());
        CliResult approved = await CliRunner.RunAsync(["requests", "approve", row.Groups["id"].Value, "--data", server.DataDirectory, .. manual]);
        Assert.True(approved.ExitCode == 0, approved.Describe());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);

        // The exporter answers a scrape within 300 ms of the last one with the same text: ask until a fresh one comes.
        PrometheusText decided;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        do
        {
            await Task.Delay(100, CancellationToken.None);
            decided = new PrometheusText(await client.GetStringAsync(new Uri("/metrics", UriKind.Relative), CancellationToken.None));
        }
        while (decided.Sum("ca_store_duration_seconds_count", "operation=CountPendingRequests") < 2 && !deadline.IsCancellationRequested); // admission + /readyz

        Assert.True(decided.Sum("ca_requests_awaiting_approval") == 0, decided.Text);
    }

    [Fact]
    public async Task Readyz_is_503_with_a_reason_once_the_store_is_unusable_and_healthz_stays_200()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = new HttpClient { BaseAddress = server.Http.LocalUri };
        using (HttpResponseMessage ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("no-store", ready.Headers.CacheControl?.ToString());
        }

        // The store closed under the running server: every query fails from now on.
        await server.Services.GetRequiredService<CertificationServices>().Store.DisposeAsync();

        using (HttpResponseMessage notReady = await client.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            string body = await notReady.Content.ReadAsStringAsync();
            Assert.StartsWith("not ready: the store failed: ObjectDisposedException", body, StringComparison.Ordinal);
            Assert.Single(body.TrimEnd('\n').Split('\n'));
        }

        using HttpResponseMessage alive = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
    }

    [Theory]
    [InlineData("Metrics:Prometheus")]
    [InlineData("Metrics:Enabled")]
    public async Task Switched_off_metrics_are_404_and_health_is_still_served(string key)
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?> { [key] = "false" });
        using var client = new HttpClient { BaseAddress = server.Http.LocalUri };
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task With_an_Otlp_endpoint_the_metrics_are_pushed_there_as_OTLP_over_HTTP()
    {
        var exported = new TaskCompletionSource<(string Path, string? ContentType, byte[] Body)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using KestrelUpstream collector = await KestrelUpstream.StartAsync(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            byte[] bytes = body.ToArray();

            // OTLP carries instrument names as plain protobuf strings; wait for an export holding the store's histogram.
            if (Encoding.UTF8.GetString(bytes).Contains("ca.store.duration", StringComparison.Ordinal))
            {
                exported.TrySetResult((context.Request.Path.Value ?? "", context.Request.ContentType, bytes));
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
        });

        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?>
        {
            ["Metrics:Otlp:Endpoint"] = collector.Url("/v1/metrics"),
            ["Metrics:Otlp:Protocol"] = "http/protobuf",
            ["Metrics:Otlp:ExportIntervalSeconds"] = "1",
        });

        // The readiness check is a store call through the CA: it is timed, and it reads the count of requests awaiting approval.
        using var client = new HttpClient { BaseAddress = server.Http.LocalUri };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);

        (string path, string? contentType, byte[] body) = await exported.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("/v1/metrics", path);
        Assert.Equal("application/x-protobuf", contentType);
        string text = Encoding.UTF8.GetString(body);
        Assert.Contains("CoapEnroll.Ca", text, StringComparison.Ordinal);
        Assert.Contains("ca.requests.awaiting_approval", text, StringComparison.Ordinal);
        Assert.Contains("coapenroll", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Metrics:Otlp:Endpoint=collector:4317", "Metrics:Otlp:Endpoint")]
    [InlineData("--Metrics:Otlp:Protocol=udp", "Metrics:Otlp:Protocol")]
    [InlineData("--Health:StoreTimeoutSeconds=0", "Health:StoreTimeoutSeconds")]
    public async Task Unusable_monitoring_settings_are_a_usage_error_naming_the_key(string setting, string key)
    {
        using var dir = new TempDirectory("coapenroll-metrics-");
        CliResult result = await CliRunner.RunAsync("serve", "--bind", "127.0.0.1", "--coap-port", "0", "--coaps-port", "off", "--http-port", "0",
            "--https-port", "0", "--data", dir.File("data"), "--Metrics:Otlp:Endpoint=http://127.0.0.1:4317", setting, "--Logging:LogLevel:Default=None");
        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        Assert.Contains(key, result.Error, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^(?<id>\d+)\t", RegexOptions.Multiline)]
    private static partial Regex PendingRow();
}
