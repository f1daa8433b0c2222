using CoapEnroll.Cli.Tests.Est;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// Who may get which name (issue 19), end to end: <c>coap-client-openssl</c> (libcoap, OpenSSL's DTLS) presents the demo device's
/// IDevID (serialNumber=DEMO-0001, CN=demo-device-1) to the real <c>coapenroll serve</c> on its shipped default profile and asks
/// for names. Another device's name, the CA's DN and the server's subjectAltNames are 4.03 with a diagnostic naming the rule, and
/// <c>coapenroll requests list --status rejected</c> shows them with their reason; the device's own name is issued, also through
/// the enroll command serve prints at its first start. A PSK session is logged by its PSK identity when refused.
/// </summary>
public sealed class LibCoapEstNameTests : IClassFixture<ServeProcessFixture>, IDisposable
{
    private readonly ServeProcessFixture _fixture;
    private readonly string _scratch = EstTools.Scratch();

    public LibCoapEstNameTests(ServeProcessFixture fixture) => _fixture = fixture;

    private ServeProcess Server => _fixture.Server;

    private string DemoCertificate => Path.Combine(Server.DataDirectory, "demo", "device.pem");

    private string DemoKey => Path.Combine(Server.DataDirectory, "demo", "device.key");

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

    public static TheoryData<string, string, string, string, string, string> Refused() => new()
    {
        {
            "another-device", "sen", "/serialNumber=DEMO-0002/CN=demo-device-2", "", "NameNotBoundToRequester",
            "name not bound to the requester: serialNumber 'DEMO-0002' is not the client certificate's serialNumber 'DEMO-0001', "
                + "and no subject template or allowed subject of profile 'default' matches it"
        },
        { "issuing-ca", "sen", "/O=CoapEnroll/CN=CoapEnroll Demo Issuing CA", "", "ReservedName", "reserved name: the subject is the issuing CA's name, which this CA never issues" },
        { "root-ca", "skg", "/O=CoapEnroll/CN=CoapEnroll Demo Root CA", "", "ReservedName", "reserved name: the subject is the root CA's name, which this CA never issues" },
        {
            "server-san", "sen", "/CN=demo-device-1", "subjectAltName=DNS:localhost,IP:127.0.0.1", "ReservedName",
            "reserved name: subjectAltName DNS:localhost is a name of this server's certificate, which this CA never issues"
        },
        {
            "server-ip", "sen", "/CN=demo-device-1", "subjectAltName=IP:127.0.0.1", "ReservedName",
            "reserved name: subjectAltName IP:127.0.0.1 is a name of this server's certificate, which this CA never issues"
        },
        { "server-dn", "sen", "/O=CoapEnroll/CN=localhost", "", "ReservedName", "reserved name: the subject is this server's name, which this CA never issues" },
    };

    [Theory]
    [Trait("Needs", "dtls")]
    [MemberData(nameof(Refused))]
    public async Task A_name_the_device_may_not_have_is_4_03_and_stored_as_rejected(string name, string operation, string subject, string extension, string reason,
        string diagnostic)
    {
        string csr = await NewCsrAsync(name, subject, extension);
        int issuedBefore = (await ListAsync("issued")).Length;

        ProcessResult result = await LibCoap.RunDtlsClientAsync("openssl", 10, "-m", "post", "-t", "286", "-f", csr, "-c", DemoCertificate, "-j", DemoKey,
            "-R", Server.TrustAnchor, Server.Uri("/.well-known/est/" + operation));

        string both = result.StandardOutput + result.StandardError;
        Assert.True(both.Contains("4.03", StringComparison.Ordinal) && both.Contains(diagnostic, StringComparison.Ordinal), $"{result.Describe()}{Environment.NewLine}{Server.Output}");

        // `requests list --status rejected`: one row for this refusal, requested by the demo device, with its reason.
        string outcome = $"\t{reason}: /{operation}: {diagnostic}";
        string[] rows = await ListAsync("rejected");
        Assert.True(rows.Count(r => r.EndsWith(outcome, StringComparison.Ordinal) && r.Contains("\trejected\tdefault\test-coaps\t", StringComparison.Ordinal)
            && r.Contains("CN=demo-device-1", StringComparison.Ordinal)) == 1, string.Join(Environment.NewLine, rows));
        Assert.Equal(issuedBefore, (await ListAsync("issued")).Length);
    }

    [Fact]
    [Trait("Needs", "dtls")]
    public async Task The_device_s_own_name_is_issued()
    {
        string csr = await NewCsrAsync("own", "/CN=demo-device-1", "");
        string output = Path.Combine(_scratch, "own.p7");

        ProcessResult result = await LibCoap.RunDtlsClientAsync("openssl", 10, "-m", "post", "-t", "286", "-f", csr, "-c", DemoCertificate, "-j", DemoKey,
            "-R", Server.TrustAnchor, "-o", output, Server.Uri("/.well-known/est/sen"));

        Assert.True(result.ExitCode == 0 && File.Exists(output) && new FileInfo(output).Length > 0, $"{result.Describe()}{Environment.NewLine}{Server.Output}");
        string pem = Path.Combine(_scratch, "own.pem");
        await EstTools.OpenSslAsync("pkcs7", "-inform", "DER", "-in", output, "-print_certs", "-out", pem);
        Assert.Equal("subject=CN=demo-device-1", (await EstTools.OpenSslAsync("x509", "-in", pem, "-noout", "-subject", "-nameopt", "RFC2253")).Trim());
        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", Server.TrustAnchor, "-untrusted", Path.Combine(Server.DataDirectory, "ca", "issuing.pem"), pem));
        Assert.Contains(await ListAsync("issued"), r => r.Contains("\tissued\tdefault\test-coaps\t", StringComparison.Ordinal)
            && r.Contains("\tCN=demo-device-1\tserial ", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Needs", "dtls")]
    public async Task The_enroll_command_serve_prints_at_its_first_start_is_issued()
    {
        // serve runs as dotnet coapenroll.dll here, so the command begins so (PrintedCommandTests runs it whole); its arguments run in-process.
        string printed = await Server.WaitForLogAsync("Enroll the demo device: ");
        Assert.Contains(" --subject CN=demo-device-1 ", printed, StringComparison.Ordinal);
        List<string> words = [.. PrintedCommand.Split(printed)];
        int est = words.IndexOf("est");
        Assert.True(est > 0 && words[est - 1].EndsWith("coapenroll.dll", StringComparison.Ordinal) && words[est + 1] == "enroll", printed);

        string[] arguments = [.. words.Skip(est)];
        arguments[Array.IndexOf(arguments, "--out") + 1] = Path.Combine(_scratch, "dev.pem");
        arguments[Array.IndexOf(arguments, "--key-out") + 1] = Path.Combine(_scratch, "dev.key");
        CliResult result = await CliRunner.RunAsync(arguments);
        Assert.True(result.ExitCode == ExitCodes.Success, $"{result.Describe()}{Environment.NewLine}{Server.Output}");
        Assert.Equal("subject=CN=demo-device-1",
            (await EstTools.OpenSslAsync("x509", "-in", Path.Combine(_scratch, "dev.pem"), "-noout", "-subject", "-nameopt", "RFC2253")).Trim());
    }

    [Fact]
    [Trait("Needs", "dtls")]
    public async Task A_psk_session_is_refused_and_logged_by_its_psk_identity()
    {
        string csr = await NewCsrAsync("psk", "/CN=demo-device-1", "");
        ProcessResult result = await LibCoap.RunDtlsClientAsync("openssl", 10, "-m", "post", "-t", "286", "-f", csr,
            "-k", ServeProcessFixture.PskText, "-u", ServeProcessFixture.PskIdentity, Server.Uri("/.well-known/est/sen"));
        Assert.True((result.StandardOutput + result.StandardError).Contains("4.01", StringComparison.Ordinal), result.Describe());

        string expected = $"refused with 4.01 for PSK identity {ServeProcessFixture.PskIdentity}:";
        for (int i = 0; i < 50 && !Server.Output.Contains(expected, StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(Server.Output.Contains(expected, StringComparison.Ordinal), Server.Output);
    }

    [Fact]
    [Trait("Needs", "dtls")]
    public async Task A_profile_that_issues_any_name_is_configured_under_its_label_and_warned_about_at_start()
    {
        Assert.DoesNotContain("NamePolicy AnyName", Server.Output, StringComparison.Ordinal);

        string directory = Path.Combine(_scratch, "lab");
        Directory.CreateDirectory(directory);
        await using ServeProcess lab = await ServeProcess.StartAsync(directory, "--Ca:Profiles:lab:NamePolicy=AnyName");
        Assert.Contains("Profile lab has NamePolicy AnyName: it issues any name a trusted requester asks for", lab.Output, StringComparison.Ordinal);

        string[] device = ["--trust", lab.TrustAnchor, "--cert", Path.Combine(lab.DataDirectory, "demo", "device.pem"),
            "--key", Path.Combine(lab.DataDirectory, "demo", "device.key")];
        CliResult relaxed = await CliRunner.RunAsync(["est", "enroll", "--server", lab.Uri("/lab"), .. device, "--subject", "CN=bench-17",
            "--out", Path.Combine(directory, "bench.pem"), "--key-out", Path.Combine(directory, "bench.key")]);
        Assert.True(relaxed.ExitCode == ExitCodes.Success, $"{relaxed.Describe()}{Environment.NewLine}{lab.Output}");

        // The default profile beside it stays bound.
        CliResult bound = await CliRunner.RunAsync(["est", "enroll", "--server", lab.Uri(), .. device, "--subject", "CN=bench-18",
            "--key-out", Path.Combine(directory, "other.key")]);
        Assert.True(bound.ExitCode == ExitCodes.ClientError && bound.Error.Contains("4.03", StringComparison.Ordinal)
            && bound.Error.Contains("name not bound to the requester", StringComparison.Ordinal), bound.Describe());
    }

    // A new P-256 key and a DER CSR for an openssl -subj subject, with an extension (openssl -addext) when one is given.
    private async Task<string> NewCsrAsync(string name, string subject, string extension)
    {
        string key = Path.Combine(_scratch, name + ".key");
        string csr = Path.Combine(_scratch, name + ".csr.der");
        string[] addext = extension.Length == 0 ? [] : ["-addext", extension];
        await EstTools.OpenSslAsync(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", subject, .. addext,
            "-outform", "DER", "-out", csr]);
        return csr;
    }

    // The rows of `coapenroll requests list --status STATUS` on serve's data directory (read while serve runs).
    private async Task<string[]> ListAsync(string status)
    {
        CliResult list = await CliRunner.RunAsync("requests", "list", "--status", status, "--data", Server.DataDirectory);
        Assert.True(list.ExitCode == ExitCodes.Success, list.Describe());
        return [.. list.Output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && char.IsAsciiDigit(l[0]))];
    }

}
