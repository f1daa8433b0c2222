using CoapEnroll.Cli.Serve;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary><c>serve --upstream-*</c>: the options set the <c>Upstream</c> section, and bad values end with one clear line and exit code 2.</summary>
public sealed class CmpProxyCliTests
{
    public static TheoryData<string[], string> UsageErrors => new()
    {
        { ["serve", "--upstream-cmp", "ca.example/cmp"], "--upstream-cmp 'ca.example/cmp' is not an absolute http:// or https:// URL" },
        { ["serve", "--upstream-cmp", "coap://ca.example/.well-known/cmp"], "not an absolute http:// or https:// URL" },
        { ["serve", "--upstream-cmp", "http://ca.example/cmp?x=1"], "must have no query" },
        { ["serve", "--upstream-cmp", "http://127.0.0.1:9/pkix/", "--upstream-trust", "/nonexistent/ca.pem"], "--upstream-trust '/nonexistent/ca.pem': no such file." },
        { ["serve", "--upstream-cmp", "http://127.0.0.1:9/pkix/", "--upstream-cert", "/nonexistent/ra.pem"], "--upstream-cert '/nonexistent/ra.pem': no such file." },
        { ["serve", "--upstream-cmp", "http://127.0.0.1:9/pkix/", "--upstream-cert", "/etc/hostname"], "go together" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Upstream:Cmp=nowhere"], "Upstream:Cmp 'nowhere'" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Upstream:TimeoutSeconds=0"], "Upstream:TimeoutSeconds" },
        { ["serve", "--coap-port", "0", "--http-port", "0", "--Upstream:MaxConcurrent=abc"], "Upstream:MaxConcurrent" },
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
    public async Task UnreadableUpstreamCredential_IsNamedAsTheUpstreams_AndStopsServe()
    {
        using var data = new CoapEnroll.Testing.TempDirectory("coapenroll-proxy-cli-");
        CliResult result = await CliRunner.RunAsync("serve", "--data", data.File("data"), "--coap-port", "0", "--coaps-port", "off", "--http-port", "0",
            "--upstream-cmp", "https://127.0.0.1:9/pkix/", "--upstream-cert", "/etc/hostname", "--upstream-key", "/etc/hostname");

        Assert.True(result.ExitCode == ExitCodes.Failure, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Cannot load the upstream TLS files: ", line, StringComparison.Ordinal);
        Assert.Contains("/etc/hostname", line, StringComparison.Ordinal);
    }

    [Fact]
    public void UpstreamCmp_ReplacesLocalCmp_AndSharesOneClient()
    {
        using var host = ServeHost.CreateBuilder(new Dictionary<string, string?> { ["Upstream:Cmp"] = "https://ca.example/.well-known/cmp" }).Build();
        CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
        Assert.True(certification.CmpProxied);
        Assert.False(certification.CmpEnabled);
        Assert.Equal(new Uri("https://ca.example/.well-known/cmp"), host.Services.GetRequiredService<IOptions<UpstreamOptions>>().Value.CmpUri);
        Assert.Same(host.Services.GetRequiredService<UpstreamHttp>(), host.Services.GetRequiredService<UpstreamHttp>());

        using var local = ServeHost.CreateBuilder().Build();
        Assert.True(local.Services.GetRequiredService<CertificationServices>().CmpEnabled);
        Assert.False(local.Services.GetRequiredService<CertificationServices>().CmpProxied);

        // Cmp:Enabled=false turns CMP off altogether, the proxy included.
        using var off = ServeHost.CreateBuilder(new Dictionary<string, string?> { ["Upstream:Cmp"] = "https://ca.example/cmp", ["Cmp:Enabled"] = "false" }).Build();
        Assert.False(off.Services.GetRequiredService<CertificationServices>().CmpProxied);
        Assert.False(off.Services.GetRequiredService<CertificationServices>().CmpEnabled);
    }
}
