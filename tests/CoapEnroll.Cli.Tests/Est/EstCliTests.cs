using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary><c>coapenroll est …</c> and <c>coapenroll requests …</c> (in-process) against the host <c>coapenroll serve</c> runs.</summary>
public sealed partial class EstCliTests : IDisposable
{
    // The approval tests name their requests (CN=manual-1, CN=waiting-1) to find them in the lists: their profile issues any name.
    private const string ManualProfile = "--Ca:Profiles:manual:RequiresApproval=true";
    private const string ManualProfileAnyName = "--Ca:Profiles:manual:NamePolicy=AnyName";
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
    public async Task EveryOperation_AgainstOurServer()
    {
        await using var server = await EstServer.StartAsync();
        string[] device = ["--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];
        string ca = File("ca.pem"), cert = File("dev.pem"), key = File("dev.key"), cert2 = File("dev2.pem"), key2 = File("dev2.key");

        await AssertSuccessAsync(["est", "crts", .. device, "--out", ca, "--block-size", "64"]);
        Assert.Equal(2, Certificates(ca).Count);

        await AssertSuccessAsync(["est", "enroll", .. device, "--subject", "CN=demo-device-1,O=CoapEnroll Demo Manufacturer", "--out", cert, "--key-out", key, "--pop-link"]);
        using var issued = X509Certificate2.CreateFromPemFile(cert, key);
        // RFC 4514 round trip: openssl prints RFC 2253 (most specific first) exactly as given.
        Assert.Equal("CN=demo-device-1,O=CoapEnroll Demo Manufacturer", await EstTools.OpenSslAsync("x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253") is var s ? s.Trim()["subject=".Length..] : null);
        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", server.TrustAnchor, "-untrusted", server.IssuingCa, cert));

        await AssertSuccessAsync(["est", "reenroll", "--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", cert, "--key", key, "--out", cert2, "--key-out", key2,
            "--accept", "287"]);
        using var renewed = X509Certificate2.CreateFromPemFile(cert2, key2);
        Assert.Equal(issued.SubjectName.RawData, renewed.SubjectName.RawData);
        Assert.NotEqual(issued.SerialNumber, renewed.SerialNumber);

        CliResult attributes = await AssertSuccessAsync(["est", "csrattrs", .. device]);
        Assert.Contains("1.2.840.113549.1.9.7", attributes.Output);

        await AssertSuccessAsync(["est", "serverkeygen", .. device, "--subject", "CN=demo-device-1", "--out", File("skg.pem"), "--key-out", File("skg.key"), "--block-size", "16"]);
        using var generated = X509Certificate2.CreateFromPemFile(File("skg.pem"), File("skg.key"));
        Assert.Equal("CN=demo-device-1", generated.Subject);

        // The explicit default root works like no path.
        await AssertSuccessAsync(["est", "crts", "--server", server.Uri("/.well-known/est"), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey]);
        Assert.Equal(3, await server.CertificateCountAsync());
    }

    [Fact]
    public async Task Refusals_AndBadInput_AreOneLineWithExitCodes()
    {
        await using var server = await EstServer.StartAsync();
        string[] trust = ["--server", server.Uri(), "--trust", server.TrustAnchor];
        string[] device = [.. trust, "--cert", server.DemoCertificate, "--key", server.DemoKey];
        using var intruderKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        using var intruder = new CertificateRequest("CN=intruder", intruderKey, System.Security.Cryptography.HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await System.IO.File.WriteAllTextAsync(File("intruder.pem"), intruder.ExportCertificatePem());
        await System.IO.File.WriteAllTextAsync(File("intruder.key"), intruderKey.ExportPkcs8PrivateKeyPem());

        await AssertFailsAsync(2, "RFC 4514", ["est", "enroll", .. device, "--subject", "CN=x,,", "--key-out", File("k")]);
        await AssertFailsAsync(2, "RFC 4514", ["est", "enroll", .. device, "--subject", "FOO=bar", "--key-out", File("k")]);
        await AssertFailsAsync(2, "--key-out", ["est", "enroll", .. device, "--subject", "CN=x"]);
        await AssertFailsAsync(2, "missing.pem", ["est", "crts", .. trust, "--cert", File("missing.pem"), "--key", server.DemoKey]);
        await AssertFailsAsync(2, "coaps://", ["est", "crts", "--server", "coap://127.0.0.1:1", "--trust", server.TrustAnchor]);
        await AssertFailsAsync(4, "4.01", ["est", "enroll", .. trust, "--subject", "CN=anon", "--key-out", File("k")]);
        await AssertFailsAsync(4, "4.03", ["est", "enroll", .. trust, "--cert", File("intruder.pem"), "--key", File("intruder.key"), "--subject", "CN=intruder", "--key-out", File("k")]);
        await AssertFailsAsync(4, "4.04", ["est", "crts", "--server", server.Uri("/nosuchlabel"), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey]);
        Assert.Equal(0, await server.CertificateCountAsync());
    }

    [Fact]
    public async Task ManualApproval_RoundTripAcrossRestart()
    {
        await using var server = await EstServer.StartAsync(new Dictionary<string, string?>
        {
            ["Ca:Profiles:manual:RequiresApproval"] = "true",
            ["Ca:Profiles:manual:NamePolicy"] = "AnyName",
        });
        string[] device = ["--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];
        string csr = File("manual.csr"), key = File("manual.key"), cert = File("manual.pem");

        CliResult first = await CliRunner.RunAsync(["est", "enroll", "--server", server.Uri("/manual"), .. device, "--subject", "CN=manual-1", "--key-out", key,
            "--csr-out", csr, "--max-wait", "0"]);
        Assert.True(first.ExitCode == 5 && first.Error.Contains("5.03", StringComparison.Ordinal) && first.Error.Contains("--csr " + csr, StringComparison.Ordinal), first.Describe());

        CliResult list = await AssertSuccessAsync(["requests", "list", "--data", server.DataDirectory]);
        Match row = PendingRow().Match(list.Output);
        Assert.True(row.Success && list.Output.Contains("CN=manual-1", StringComparison.Ordinal) && list.Output.Contains("demo-device-1", StringComparison.Ordinal), list.Describe());
        string id = row.Groups["id"].Value;

        await server.RestartAsync();
        // Without the servers' profile the CLI refuses to decide, and the request stays pending for a correctly configured approval.
        await AssertFailsAsync(1, "still pending: it asks for profile 'manual'", ["requests", "approve", id, "--data", server.DataDirectory]);
        Assert.Matches(PendingRow(), (await AssertSuccessAsync(["requests", "list", "--data", server.DataDirectory])).Output);
        CliResult approve = await AssertSuccessAsync(["requests", "approve", id, "--data", server.DataDirectory, ManualProfile, ManualProfileAnyName]);
        Assert.Contains("CN=manual-1", approve.Output);
        Assert.Contains("No pending requests", (await AssertSuccessAsync(["requests", "list", "--data", server.DataDirectory])).Output);

        await AssertSuccessAsync(["est", "enroll", "--server", server.Uri("/manual"), .. device, "--csr", csr, "--out", cert]);
        using var issued = X509Certificate2.CreateFromPemFile(cert, key);
        Assert.Equal("CN=manual-1", issued.Subject);
        Assert.Equal(1, await server.CertificateCountAsync());
        await AssertFailsAsync(2, "No request 999", ["requests", "approve", "999", "--data", server.DataDirectory]);
    }

    [Fact]
    public async Task PendingRequest_WaitsThroughRetriesUntilRejected()
    {
        await using var server = await EstServer.StartAsync(new Dictionary<string, string?>
        {
            ["Ca:Profiles:manual:RequiresApproval"] = "true",
            ["Ca:Profiles:manual:NamePolicy"] = "AnyName",
        });
        Task<CliResult> waiting = CliRunner.RunAsync(["est", "enroll", "--server", server.Uri("/manual"), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate,
            "--key", server.DemoKey, "--subject", "CN=waiting-1", "--key-out", File("w.key"), "--max-wait", "30"]);

        string? id = null;
        for (int i = 0; i < 50 && id is null; i++)
        {
            await Task.Delay(100);
            CliResult list = await CliRunner.RunAsync(["requests", "list", "--data", server.DataDirectory]);
            id = PendingRow().Match(list.Output) is { Success: true } m ? m.Groups["id"].Value : null;
        }

        Assert.NotNull(id);
        await AssertSuccessAsync(["requests", "reject", id, "--reason", "unknown device", "--data", server.DataDirectory, ManualProfile, ManualProfileAnyName]);
        CliResult result = await waiting;
        Assert.True(result.ExitCode == 4 && result.Error.Contains("4.03", StringComparison.Ordinal), result.Describe());
        Assert.Equal(0, await server.CertificateCountAsync());
    }

    [Fact]
    public async Task RequestsList_ShowsRejectedAndIssuedRequestsWithTheirOutcome()
    {
        await using var server = await EstServer.StartAsync(new Dictionary<string, string?>
        {
            ["Ca:Profiles:strict:SubjectPolicy"] = "AllowList",
            ["Ca:Profiles:strict:AllowedSubjectAttributes:0"] = "CN",
        });
        string[] device = ["--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];
        string cert = File("ok.pem");

        await AssertSuccessAsync(["est", "enroll", "--server", server.Uri(), .. device, "--subject", "CN=demo-device-1", "--key-out", File("ok.key"), "--out", cert]);
        // The device's own name, bound to it, but with an attribute type the strict profile does not allow.
        await AssertFailsAsync(4, "4.03", ["est", "enroll", "--server", server.Uri("/strict"), .. device, "--subject", "CN=demo-device-1,O=CoapEnroll Demo Manufacturer",
            "--key-out", File("evil.key")]);
        await AssertFailsAsync(4, "4.03", ["est", "reenroll", "--server", server.Uri(), .. device, "--key-out", File("idevid.key")]);
        X509Certificate2 issued = Assert.Single(Certificates(cert));

        CliResult rejected = await AssertSuccessAsync(["requests", "list", "--status", "rejected", "--data", server.DataDirectory]);
        string[] rows = DataRows(rejected.Output);
        Assert.True(rows.Length == 2 && rejected.Output.StartsWith("ID\tCREATED (UTC)\tSTATUS\tPROFILE\tPROTOCOL\tREQUESTER\tREGISTRAR\tSUBJECT\tOUTCOME\n", StringComparison.Ordinal), rejected.Describe());
        // Newest first: the re-enrollment the IDevID may not do, then the subject the profile does not allow.
        Assert.True(rows[0].Contains("\trejected\tdefault\test-coaps\t", StringComparison.Ordinal) && rows[0].Contains("demo-device-1", StringComparison.Ordinal)
            && rows[0].EndsWith("\tNotAuthorized: /sren: re-enrollment needs a current certificate issued by this CA", StringComparison.Ordinal), rejected.Describe());
        Assert.True(rows[1].Contains("\trejected\tstrict\test-coaps\t", StringComparison.Ordinal) && rows[1].Contains("\tCN=demo-device-1, O=CoapEnroll Demo Manufacturer\tSubjectNotAllowed: ", StringComparison.Ordinal),
            rejected.Describe());

        CliResult all = await AssertSuccessAsync(["requests", "list", "--status", "all", "--data", server.DataDirectory]);
        string[] allRows = DataRows(all.Output);
        Assert.True(allRows.Length == 3 && allRows.Take(2).SequenceEqual(rows)
            && allRows[2].Contains("\tissued\tdefault\test-coaps\t", StringComparison.Ordinal) && allRows[2].EndsWith($"\tCN=demo-device-1\tserial {issued.SerialNumber}", StringComparison.Ordinal),
            all.Describe());

        CliResult onlyIssued = await AssertSuccessAsync(["requests", "list", "--status", "issued", "--data", server.DataDirectory]);
        Assert.True(DataRows(onlyIssued.Output).SequenceEqual([allRows[2]]), onlyIssued.Describe());
        Assert.Contains("No pending requests", (await AssertSuccessAsync(["requests", "list", "--data", server.DataDirectory])).Output);
        Assert.Contains("No pending requests", (await AssertSuccessAsync(["requests", "list", "--status", "pending", "--data", server.DataDirectory])).Output);
        await AssertFailsAsync(2, "--status 'refused' is not one of pending, issued, rejected, all", ["requests", "list", "--status", "refused", "--data", server.DataDirectory]);
    }

    [Fact]
    public async Task RequestsList_StatusRejected_SaysSoWhenNothingWasRefused()
    {
        await using var server = await EstServer.StartAsync();
        await AssertSuccessAsync(["est", "enroll", "--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey,
            "--subject", "CN=demo-device-1", "--key-out", File("fine.key"), "--out", File("fine.pem")]);
        Assert.Equal("No rejected requests.", (await AssertSuccessAsync(["requests", "list", "--status", "rejected", "--data", server.DataDirectory])).Output.Trim());
        Assert.Single(DataRows((await AssertSuccessAsync(["requests", "list", "--status", "all", "--data", server.DataDirectory])).Output));
    }

    private static string[] DataRows(string output) => [.. output.Split('\n').Where(line => PendingRow().IsMatch(line)).Select(line => line.TrimEnd('\r'))];

    private string File(string name) => Path.Combine(_scratch, name);

    private static X509Certificate2Collection Certificates(string pem)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPemFile(pem);
        return collection;
    }

    private static async Task<CliResult> AssertSuccessAsync(string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    private static async Task AssertFailsAsync(int exitCode, string expected, string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == exitCode && result.Error.Contains(expected, StringComparison.Ordinal) && result.Error.TrimEnd().Split('\n').Length == 1,
            result.Describe());
    }

    [GeneratedRegex(@"^(?<id>\d+)\t", RegexOptions.Multiline)]
    private static partial Regex PendingRow();
}
