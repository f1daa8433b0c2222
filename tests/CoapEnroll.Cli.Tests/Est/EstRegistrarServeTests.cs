using System.Net;
using System.Net.Sockets;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// <c>serve --upstream-est</c>: the EST-coaps resources become a registrar (RFC 9148 §5). Discovery stays what a server announces;
/// with the EST server upstream unreachable <c>coap-client-openssl</c> gets 5.03 with Max-Age at once and serve logs why. Bad
/// values are one line and exit code 2. (The forwarding itself is tested against an EST server over HTTPS in CoapEnroll.Est.Tests.)
/// </summary>
public sealed class EstRegistrarServeTests : IDisposable
{
    private readonly string _scratch = EstTools.Scratch();

    public void Dispose()
    {
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static TheoryData<string[], string> UsageErrors => new()
    {
        { ["serve", "--upstream-est", "ca.example/.well-known/est"], "--upstream-est 'ca.example/.well-known/est' is not an absolute https:// URL" },
        { ["serve", "--upstream-est", "https://ca.example/est"], "the path must be empty, /.well-known/est or /.well-known/est/LABEL" },
        { ["serve", "--upstream-est", "https://ca.example/.well-known/est/a/b"], "the path must be empty" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Upstream:Est=coap://ca.example/.well-known/est"], "Upstream:Est" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task UsageError_PrintsOneLineAndExits2(string[] args, string expected)
    {
        CliResult result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("coapenroll: error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "dtls")]
    public async Task A_registrar_announces_EST_and_answers_5_03_with_Max_Age_while_the_upstream_is_unreachable()
    {
        int closed = ClosedPort();
        await using ServeProcess registrar = await ServeProcess.StartAsync(_scratch, "--upstream-est", $"https://127.0.0.1:{closed}/.well-known/est",
            "--Upstream:TimeoutSeconds=3", "--Est:UpstreamRetryAfter=00:00:07");
        Assert.Contains($"EST-coaps is a registrar (RFC 9148 §5) forwarding to https://127.0.0.1:{closed}/.well-known/est", registrar.Output, StringComparison.Ordinal);
        Assert.Contains("client certificate none;", registrar.Output, StringComparison.Ordinal);

        string device = Path.Combine(registrar.DataDirectory, "demo", "device.pem"), deviceKey = Path.Combine(registrar.DataDirectory, "demo", "device.key");
        ProcessResult discovery = await EstTools.CoapClientAsync("openssl", "-m", "get", "-c", device, "-j", deviceKey, "-R", registrar.TrustAnchor,
            registrar.Uri("/.well-known/core?rt=ace.est*"));
        foreach (string resource in (string[])["crts", "sen", "sren", "att", "skg", "skc"])
        {
            Assert.True(discovery.StandardOutput.Contains($"</.well-known/est/{resource}>", StringComparison.Ordinal)
                && discovery.StandardOutput.Contains($"rt=\"ace.est.{resource}\"", StringComparison.Ordinal), discovery.Describe());
        }

        (_, string csr) = await EstTools.NewCsrAsync(_scratch, "dev", "/CN=demo-device-1");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ProcessResult enrolled = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-f", csr, "-c", device, "-j", deviceKey, "-R", registrar.TrustAnchor,
            registrar.Uri("/.well-known/est/sen"));
        string both = enrolled.StandardOutput + enrolled.StandardError;
        Assert.True(both.Contains("5.03", StringComparison.Ordinal) && both.Contains("the EST server upstream is unreachable; retry after 7 s", StringComparison.Ordinal),
            enrolled.Describe());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), clock.Elapsed.ToString());

        string expected = $"upstream https://127.0.0.1:{closed}/.well-known/est unreachable";
        for (int i = 0; i < 50 && !registrar.Output.Contains(expected, StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(registrar.Output.Contains(expected, StringComparison.Ordinal), registrar.Output);

        // A name the device may not have never leaves the registrar.
        (_, string other) = await EstTools.NewCsrAsync(_scratch, "other", "/CN=someone-else");
        ProcessResult refused = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-f", other, "-c", device, "-j", deviceKey, "-R", registrar.TrustAnchor,
            registrar.Uri("/.well-known/est/sen"));
        Assert.True((refused.StandardOutput + refused.StandardError).Contains("4.03", StringComparison.Ordinal), refused.Describe());
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
