using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// EST under a root other than /.well-known/est (serve's <c>Est:Roots</c>), which <c>coapenroll est --server coaps://HOST/ROOT</c>
/// finds with <c>GET /.well-known/core?rt=ace.est*</c> (RFC 9148 §4.1).
/// </summary>
public sealed class EstDiscoveryTests : IDisposable
{
    private const string Root = "/pki/est";
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

    [Fact]
    public async Task OnlyACustomRoot_CrtsAndEnrollFindItThroughDiscovery()
    {
        await using var server = await CliServer.StartAsync($"--Est:Roots:0={Root}", "--Est:EnableCsrAttributes=false");
        string[] device = ["--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];

        // What the server announces: EST under the configured root only.
        CliResult links = await CliAssert.SucceedsAsync("coap", "get", server.Uri("/.well-known/core?rt=ace.est*"), "--trust", server.TrustAnchor);
        Assert.Contains($"<{Root}/crts>", links.Output);
        Assert.Contains($"<{Root}/sen>", links.Output);
        Assert.DoesNotContain("/.well-known/est/", links.Output);
        Assert.DoesNotContain("ace.est.att", links.Output);

        // The default root is not served, so what works below was found through discovery.
        await CliAssert.FailsAsync(ExitCodes.ClientError, ["4.04"], ["est", "crts", "--server", server.Uri(), .. device]);

        await CliAssert.SucceedsAsync(["est", "crts", "--server", server.Uri(Root), .. device, "--out", File("ca.pem")]);
        var cas = new X509Certificate2Collection();
        cas.ImportFromPemFile(File("ca.pem"));
        Assert.Equal(2, cas.Count);

        await CliAssert.SucceedsAsync(["est", "enroll", "--server", server.Uri(Root), .. device, "--subject", "CN=demo-device-1",
            "--out", File("dev.pem"), "--key-out", File("dev.key")]);
        using var issued = X509Certificate2.CreateFromPemFile(File("dev.pem"), File("dev.key"));
        Assert.Equal("CN=demo-device-1", issued.Subject);
        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", server.TrustAnchor, "-untrusted", server.IssuingCa, File("dev.pem")));

        // A resource discovery does not list is refused by the client, before any request for it.
        await CliAssert.FailsAsync(ExitCodes.Failure, ["ace.est.att"], ["est", "csrattrs", "--server", server.Uri(Root), .. device]);
    }

    [Fact]
    public async Task RootTheServerDoesNotAnnounce_IsRefusedNotReplaced()
    {
        await using var server = await CliServer.StartAsync();
        string[] device = ["--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];

        // The server has only /.well-known/est: asking for /pki/est must not silently talk to another root.
        await CliAssert.FailsAsync(ExitCodes.Failure, [Root], ["est", "crts", "--server", server.Uri(Root), .. device, "--out", File("ca.pem")]);
        Assert.False(System.IO.File.Exists(File("ca.pem")));
    }

    [Fact]
    public async Task SeveralRoots_EachOneCanBeGiven()
    {
        await using var server = await CliServer.StartAsync("--Est:Roots:0=/.well-known/est", $"--Est:Roots:1={Root}", "--Est:Roots:2=/other/est");
        string[] device = ["--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];

        foreach (string path in new[] { "", Root, "/other/est" })
        {
            await CliAssert.SucceedsAsync(["est", "crts", "--server", server.Uri(path), .. device]);
        }

        await CliAssert.SucceedsAsync(["est", "enroll", "--server", server.Uri("/other/est"), .. device, "--subject", "CN=demo-device-1",
            "--out", File("other.pem"), "--key-out", File("other.key")]);
        await CliAssert.FailsAsync(ExitCodes.Failure, ["/third/est"], ["est", "crts", "--server", server.Uri("/third/est"), .. device]);
    }

    private string File(string name) => Path.Combine(_scratch, name);
}
