using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cmp;
using CoapEnroll.Coap;
using CoapEnroll.Transport;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary><c>coapenroll cmp</c> (our CMP client) against our server (<see cref="CmpServerHost"/>) over http://, coap:// and coaps://.</summary>
[Trait("Needs", "openssl")]
public sealed class CmpClientTests : CmpTestBase
{
    /// <summary>coaps is DTLS with the PSK; coaps-cert and https authenticate the server's certificate against --trust.</summary>
    public static TheoryData<string> Schemes => new() { "http", "https", "coap", "coaps", "coaps-cert" };

    private static string Server(CmpServerHost server, string scheme, string path = "") => scheme switch
    {
        "http" => $"http://127.0.0.1:{server.HttpPort}{path}",
        "https" => $"https://127.0.0.1:{server.HttpsPort}{path}",
        "coap" => $"coap://127.0.0.1:{server.CoapPort}{path}",
        _ => $"coaps://127.0.0.1:{server.CoapsPort}{path}",
    };

    private static string[] Psk(string scheme) => scheme == "coaps-cert" ? [] : scheme == "coaps" ? ["--psk-identity", CmpServerHost.PskIdentity, "--psk-key", Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(CmpServerHost.PskText))] : [];

    private async Task<CliResult> MustAsync(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    [Theory]
    [MemberData(nameof(Schemes))]
    public async Task Ir_WithMac_IssuesAVerifiableCertificate(string scheme)
    {
        await using var server = await CmpServerHost.StartAsync();
        Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);
        string[] trust = scheme is "coaps-cert" or "https" ? ["--trust", server.TrustAnchor] : [];
        await MustAsync(["cmp", "ir", "--server", Server(server, scheme), .. Psk(scheme), .. trust, "--ref", "dev-1", "--secret-env", SecretVariable,
            "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k.pem"), "--out", OpenSsl.File("c.pem"), "--chain-out", OpenSsl.File("chain.pem")]);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        Assert.Equal("CN=dev-1", OpenSslCmp.Load(OpenSsl.File("c.pem")).Subject);
        await OpenSsl.MustAsync("pkey", "-in", OpenSsl.File("k.pem"), "-noout");
        Assert.Contains("BEGIN CERTIFICATE", await File.ReadAllTextAsync(OpenSsl.File("chain.pem")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task IrPbmac1_ThenSignedCr_Kur_Rr_OverCoap()
    {
        await using var server = await CmpServerHost.StartAsync();
        string url = Server(server, "coap");
        Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);
        await MustAsync("cmp", "ir", "--server", url, "--ref", "dev-1", "--secret-env", SecretVariable, "--pbmac1", "--implicit-confirm",
            "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k1.pem"), "--out", OpenSsl.File("c1.pem"));
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c1.pem"));

        // Signed requests get signed answers, checked against --trust.
        await MustAsync("cmp", "cr", "--server", url, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("c1.pem"), "--key", OpenSsl.File("k1.pem"),
            "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k2.pem"), "--out", OpenSsl.File("c2.pem"));
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c2.pem"));

        await MustAsync("cmp", "kur", "--server", url, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("c2.pem"), "--key", OpenSsl.File("k2.pem"),
            "--key-out", OpenSsl.File("k3.pem"), "--out", OpenSsl.File("c3.pem"));
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c3.pem"));
        Assert.Equal("CN=dev-1", OpenSslCmp.Load(OpenSsl.File("c3.pem")).Subject);

        CliResult badReason = await CliRunner.RunAsync("cmp", "rr", "--server", url, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("c3.pem"),
            "--key", OpenSsl.File("k3.pem"), "--oldcert", OpenSsl.File("c3.pem"), "--reason", "lostIt");
        Assert.True(badReason.ExitCode == ExitCodes.Usage && badReason.Error.Contains("--reason 'lostIt'", StringComparison.Ordinal), badReason.Describe());

        // By name, as 'requests revoke' takes it.
        await MustAsync("cmp", "rr", "--server", url, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("c3.pem"), "--key", OpenSsl.File("k3.pem"),
            "--oldcert", OpenSsl.File("c3.pem"), "--reason", "keyCompromise");
        string serial = OpenSslCmp.Load(OpenSsl.File("c3.pem")).SerialNumber;
        Assert.Equal(1, (await server.CertificatesAsync()).Single(c => c.SerialNumber == serial).RevocationReason);

        // The same rr again, as after a lost answer: done already, said so, exit 0.
        CliResult repeated = await MustAsync("cmp", "rr", "--server", url, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("c3.pem"), "--key", OpenSsl.File("k3.pem"),
            "--oldcert", OpenSsl.File("c3.pem"), "--reason", "1");
        Assert.Contains("was already revoked (the server refused the rr with certRevoked); nothing changed", repeated.Output, StringComparison.Ordinal);

        // The revoked certificate no longer signs anything.
        CliResult refused = await CliRunner.RunAsync("cmp", "kur", "--server", url, "--trust", server.TrustAnchor, "--cert", OpenSsl.File("c3.pem"),
            "--key", OpenSsl.File("k3.pem"), "--key-out", OpenSsl.File("k4.pem"), "--out", OpenSsl.File("c4.pem"));
        Assert.True(refused.ExitCode == 4 && refused.Error.Contains("refused", StringComparison.Ordinal), refused.Describe());
    }

    [Fact]
    public async Task P10cr_AndGenmCaCerts_OverHttp()
    {
        await using var server = await CmpServerHost.StartAsync();
        string url = Server(server, "http");
        Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);
        string key = await OpenSsl.NewKeyAsync("k.pem");
        await OpenSsl.MustAsync("req", "-new", "-key", key, "-subj", "/CN=dev-1", "-out", OpenSsl.File("r.csr"));
        await MustAsync("cmp", "p10cr", "--server", url, "--ref", "dev-1", "--secret-env", SecretVariable, "--csr", OpenSsl.File("r.csr"), "--out", OpenSsl.File("c.pem"));
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));

        await MustAsync("cmp", "genm", "--server", url, "--ref", "dev-1", "--secret-env", SecretVariable, "--infotype", "caCerts", "--out", OpenSsl.File("cas.pem"));
        ProcessResult x509 = await OpenSsl.MustAsync("x509", "-in", OpenSsl.File("cas.pem"), "-noout", "-subject");
        Assert.False(string.IsNullOrWhiteSpace(x509.StandardOutput), x509.Describe());
        await OpenSsl.MustAsync("verify", "-CAfile", server.TrustAnchor, "-untrusted", OpenSsl.File("cas.pem"), OpenSsl.File("c.pem"));

        CliResult crls = await MustAsync("cmp", "genm", "--server", url, "--ref", "dev-1", "--secret-env", SecretVariable, "--infotype", "crls",
            "--infotype", "rootCaCert", "--out", OpenSsl.File("crls.pem"));
        Assert.Contains("rootCaKeyUpdate: (none)", await File.ReadAllTextAsync(OpenSsl.File("crls.pem")), StringComparison.Ordinal);
        await OpenSsl.MustAsync("crl", "-in", OpenSsl.File("crls.pem"), "-noout", "-issuer");
    }

    [Fact]
    public async Task Https_WithoutTheServersTrustAnchor_FailsTheHandshake()
    {
        await using var server = await CmpServerHost.StartAsync();
        Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);
        await OpenSsl.MustAsync("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", OpenSsl.File("other-root.key"),
            "-subj", "/CN=Other Root", "-days", "1", "-out", OpenSsl.File("other-root.pem"));
        CliResult result = await CliRunner.RunAsync("cmp", "genm", "--server", Server(server, "https"), "--trust", OpenSsl.File("other-root.pem"),
            "--ref", "dev-1", "--secret-env", SecretVariable, "--infotype", "caCerts");
        Assert.True(result.ExitCode == 3 && result.Error.Contains("failed", StringComparison.Ordinal), result.Describe());
    }

    [Fact]
    public async Task San_InTheCertTemplate_AndInTheCsr_IsIssued_EmailRefusedByTheProfile()
    {
        await using var server = await CmpServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["Cmp:SharedSecrets:open:Secret"] = "open-secret-5d1e",
            ["Cmp:SharedSecrets:open:Profile"] = "open",
            ["Cmp:SharedSecrets:open:AnyName"] = "true",
            ["Ca:Profiles:open:NamePolicy"] = "AnyName",
        });
        Environment.SetEnvironmentVariable(SecretVariable, "open-secret-5d1e");
        string[] mac = ["--ref", "open", "--secret-env", SecretVariable];
        string[] sans = ["--san", "DNS:dev-7.example", "--san", "IP:192.0.2.7", "--san", "URI:urn:dev:7"];
        await MustAsync(["cmp", "ir", "--server", Server(server, "coap", "/.well-known/cmp/p/open"), .. mac, "--subject", "CN=dev-7", .. sans,
            "--key-out", OpenSsl.File("k1.pem"), "--out", OpenSsl.File("c1.pem")]);
        await MustAsync(["cmp", "p10cr", "--server", Server(server, "http", "/.well-known/cmp/p/open"), .. mac, "--subject", "CN=dev-7", .. sans,
            "--key-out", OpenSsl.File("k2.pem"), "--out", OpenSsl.File("c2.pem")]);
        foreach (string certificate in new[] { OpenSsl.File("c1.pem"), OpenSsl.File("c2.pem") })
        {
            await OpenSsl.VerifyAsync(server, certificate);
            ProcessResult ext = await OpenSsl.MustAsync("x509", "-in", certificate, "-noout", "-ext", "subjectAltName");
            Assert.Contains("DNS:dev-7.example", ext.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("IP Address:192.0.2.7", ext.StandardOutput, StringComparison.Ordinal);
            Assert.Contains("URI:urn:dev:7", ext.StandardOutput, StringComparison.Ordinal);
        }

        CliResult email = await CliRunner.RunAsync(["cmp", "ir", "--server", Server(server, "coap", "/.well-known/cmp/p/open"), .. mac, "--subject", "CN=dev-7", "--san", "email:a@example.com",
            "--key-out", OpenSsl.File("k3.pem"), "--out", OpenSsl.File("c3.pem")]);
        Assert.True(email.ExitCode == 4 && email.Error.Contains("refused", StringComparison.Ordinal), email.Describe());
        Assert.False(File.Exists(OpenSsl.File("c3.pem")));

        CliResult bad = await CliRunner.RunAsync(["cmp", "ir", "--server", Server(server, "coap", "/.well-known/cmp/p/open"), .. mac, "--subject", "CN=dev-7", "--san", "IP:not-an-address",
            "--key-out", OpenSsl.File("k4.pem")]);
        Assert.True(bad.ExitCode == 2 && bad.Error.Contains("not an IPv4 or IPv6 address", StringComparison.Ordinal), bad.Describe());
    }

    [Fact]
    public async Task WrongSecret_IsOneRefusalLine_WithBadMessageCheck()
    {
        await using var server = await CmpServerHost.StartAsync();
        Environment.SetEnvironmentVariable(SecretVariable, "not-the-secret");
        CliResult result = await CliRunner.RunAsync("cmp", "ir", "--server", Server(server, "coap"), "--trust", server.TrustAnchor, "--ref", "dev-1",
            "--secret-env", SecretVariable, "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k.pem"), "--out", OpenSsl.File("c.pem"));
        Assert.True(result.ExitCode == 4, result.Describe());
        Assert.Contains("refused: badMessageCheck", result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.Trim().Split('\n'));
        Assert.False(File.Exists(OpenSsl.File("c.pem")));
        Assert.True(File.Exists(OpenSsl.File("k.pem")), "the key is written before the request is sent");
    }

    [Fact]
    public async Task HeldForApproval_PastMaxWait_ExitsFive_AsEstDoes()
    {
        await using var server = await CmpServerHost.StartAsync();
        Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.ManualSecret);
        CliResult result = await CliRunner.RunAsync("cmp", "ir", "--server", Server(server, "http", "/.well-known/cmp/p/manual"), "--ref", "manual",
            "--secret-env", SecretVariable, "--subject", "CN=held-3", "--key-out", OpenSsl.File("k.pem"), "--out", OpenSsl.File("c.pem"), "--max-wait", "0");
        Assert.True(result.ExitCode == ExitCodes.ServerError, result.Describe());
        Assert.Contains("still waiting after 0 s", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeldForApproval_PollsWithAWaitingLine_UntilApproved()
    {
        await using var server = await CmpServerHost.StartAsync();
        Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.ManualSecret);
        Task<CliResult> polling = CliRunner.RunAsync("cmp", "ir", "--server", Server(server, "http", "/.well-known/cmp/p/manual"), "--ref", "manual",
            "--secret-env", SecretVariable, "--subject", "CN=held-2", "--key-out", OpenSsl.File("k.pem"), "--out", OpenSsl.File("c.pem"));

        await server.ApprovePendingAsync(polling, "CN=held-2");

        CliResult result = await polling;
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("cmp ir: waiting", result.Error, StringComparison.Ordinal);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
    }

    [Fact]
    public async Task Usage_SecretNeverOnTheCommandLine_AndOneProtection()
    {
        CliResult both = await CliRunner.RunAsync("cmp", "genm", "--server", "coap://127.0.0.1:1", "--infotype", "caCerts");
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--ref REF --secret-env NAME", both.Error, StringComparison.Ordinal);
        CliResult unset = await CliRunner.RunAsync("cmp", "genm", "--server", "coap://127.0.0.1:1", "--infotype", "caCerts", "--ref", "x", "--secret-env", SecretVariable);
        Assert.Equal(2, unset.ExitCode);
        Assert.Contains("not set", unset.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BusyAnswers_AreWaitedOut_WithTheSameMessage_AndALine()
    {
        // A CoAP hop before the server that says 4.29 (Max-Age 1) to the first request, relays the rest to our server's coap://
        // port with our CoAP client, and later says 5.03 without Max-Age (so 60 s) to everything.
        await using var server = await CmpServerHost.StartAsync();
        var upstream = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.CoapPort);
        await using var relay = new CoapClient(UdpDatagramChannel.BindEphemeralFor(upstream));
        var bodies = new List<byte[]>();
        bool refuseAll = false;
        await using var hop = new CoapServer();
        hop.MapPost("/.well-known/cmp", async (ctx, ct) =>
        {
            byte[] der = ctx.Request.Payload.ToArray();
            int count;
            lock (bodies)
            {
                bodies.Add(der);
                count = bodies.Count;
            }

            if (count == 1)
            {
                return new CoapMessage { Code = CoapCode.TooManyRequests }.WithPayload("hold on").SetUInt(CoapOptionNumber.MaxAge, 1);
            }

            if (Volatile.Read(ref refuseAll))
            {
                return new CoapMessage { Code = CoapCode.ServiceUnavailable }.WithPayload("down for maintenance");
            }

            return await relay.SendAsync(ctx.Request, upstream, ct);
        });
        int port = ((System.Net.IPEndPoint)hop.Listen(UdpDatagramChannel.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0))).LocalEndPoint).Port;
        Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);

        CliResult result = await MustAsync("cmp", "ir", "--server", $"coap://127.0.0.1:{port}", "--ref", "dev-1", "--secret-env", SecretVariable,
            "--implicit-confirm", "--subject", "CN=dev-1", "--key-out", OpenSsl.File("k.pem"), "--out", OpenSsl.File("c.pem"));
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        // Max-Age 1 and up to half of it again at random (the client's jitter).
        Assert.Matches(@"cmp ir: server busy \(4\.29: hold on\); sending again in 1(\.[0-5])? s", result.Error);
        Assert.Equal(2, bodies.Count);
        PkiMessage first = PkiMessageCodec.Decode(bodies[0]).Message!, again = PkiMessageCodec.Decode(bodies[1]).Message!;
        Assert.Equal(PkiBodyType.Ir, again.Body.BodyType);
        Assert.Equal(first.Header.TransactionId!.Value.ToArray(), again.Header.TransactionId!.Value.ToArray());
        Assert.Equal(first.Header.SenderNonce!.Value.ToArray(), again.Header.SenderNonce!.Value.ToArray());

        // 5.03 with no Max-Age: 60 s by RFC 7252, past --max-wait 5: the 5.03 and its text, exit 5, nothing resent.
        Volatile.Write(ref refuseAll, true);
        CliResult refused = await CliRunner.RunAsync("cmp", "genm", "--server", $"coap://127.0.0.1:{port}", "--ref", "dev-1", "--secret-env", SecretVariable,
            "--infotype", "caCerts", "--max-wait", "5");
        Assert.True(refused.ExitCode == ExitCodes.ServerError, refused.Describe());
        Assert.Contains("5.03 (down for maintenance), Max-Age 60 s; gave up: waiting 60 s more would pass the 5 s this client waits in all", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("sending again", refused.Error, StringComparison.Ordinal);
        Assert.Equal(3, bodies.Count);
    }
}
