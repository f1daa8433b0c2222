using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Est;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// /crts over a DTLS session without a client certificate (issue 14 item 3, RFC 7030 §4.1.1: the server SHOULD NOT require
/// client authentication for the CA certificates): our CLI without --cert and libcoap's clients with only a trust anchor get
/// them; the other operations in such a session stay 4.01 and never reach enrollment; Est:RequireClientCertificateForCrts
/// makes a profile's /crts require a client certificate again.
/// </summary>
public sealed class AnonymousCrtsTests : IClassFixture<EstServerFixture>, IDisposable
{
    private readonly EstServer _server;
    private readonly string _scratch = EstTools.Scratch();

    public AnonymousCrtsTests(EstServerFixture fixture) => _server = fixture.Server;

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
    public async Task OurCli_WithoutCert_GetsTheCaCertificates()
    {
        CliResult result = await CliRunner.RunAsync("est", "crts", "--server", _server.Uri(), "--trust", _server.TrustAnchor);

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        X509Certificate2Collection chain = [];
        chain.ImportFromPem(result.Output);
        Assert.Equal(["CoapEnroll Demo Issuing CA", "CoapEnroll Demo Root CA"],
            chain.Select(c => c.GetNameInfo(X509NameType.SimpleName, forIssuer: false)).Order(StringComparer.Ordinal));
        using X509Certificate2 anchor = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(_server.TrustAnchor));
        Assert.Contains(chain, c => c.RawData.AsSpan().SequenceEqual(anchor.RawData));
    }

    [Theory]
    [InlineData("openssl")]
    [InlineData("gnutls")]
    public async Task LibCoap_WithOnlyATrustAnchor_GetsCrts_AndIsRefusedTheRest(string library)
    {
        string output = Path.Combine(_scratch, $"crts-{library}.p7");

        // -R alone: the server's certificate is checked against the anchor, and the client sends an empty Certificate.
        ProcessResult crts = await EstTools.CoapClientAsync(library, "-m", "get", "-A", "281", "-R", _server.TrustAnchor, "-o", output, _server.Uri("/.well-known/est/crts"));

        Assert.True(crts.ExitCode == 0 && File.Exists(output), crts.Describe());
        string certs = await EstTools.OpenSslAsync("pkcs7", "-inform", "DER", "-in", output, "-print_certs");
        Assert.Contains("CoapEnroll Demo Root CA", certs);
        Assert.Contains("CoapEnroll Demo Issuing CA", certs);

        var (_, csr) = await EstTools.NewCsrAsync(_scratch, $"anon-{library}", $"/CN=anon-{library}");
        int before = await _server.CertificateCountAsync();
        foreach (string[] request in new string[][]
        {
            ["-m", "post", "-t", "286", "-f", csr, _server.Uri("/.well-known/est/sen")],
            ["-m", "post", "-t", "286", "-f", csr, _server.Uri("/.well-known/est/sren")],
            ["-m", "post", "-t", "286", "-f", csr, _server.Uri("/.well-known/est/skg")],
            ["-m", "get", _server.Uri("/.well-known/est/att")],
        })
        {
            ProcessResult refused = await EstTools.CoapClientAsync(library, ["-R", _server.TrustAnchor, .. request]);
            Assert.True(refused.StandardError.Contains("4.01", StringComparison.Ordinal) || refused.StandardOutput.Contains("4.01", StringComparison.Ordinal),
                refused.Describe());
        }

        Assert.Equal(before, await _server.CertificateCountAsync());
    }

    [Fact]
    public async Task OneAnonymousSession_GetsCrts_ButNeverReachesEnrollment()
    {
        int before = await _server.CertificateCountAsync();
        var dtls = new DtlsClientOptions();
        dtls.ServerCertificateTrustAnchors.ImportFromPemFile(_server.TrustAnchor);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(_server.SecureEndPoint, dtls, timeout.Token);
        await using var client = new EstCoapsClient(channel);

        X509Certificate2Collection cas = await client.GetCaCertificatesAsync(EstCertificateFormat.CertsOnly, timeout.Token);
        Assert.Equal(2, cas.Count);
        using X509Certificate2 root = await client.GetCaCertificatesAsync(EstCertificateFormat.PkixCert, timeout.Token) is { Count: 1 } single ? single[0]
            : throw new Xunit.Sdk.XunitException("/crts with Accept 287 did not answer one certificate");
        Assert.Equal("CoapEnroll Demo Root CA", root.GetNameInfo(X509NameType.SimpleName, forIssuer: false));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var enroll = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(new X500DistinguishedName("CN=anon-session"), key, cancellationToken: timeout.Token));
        Assert.Equal(CoapCode.Unauthorized, enroll.Code);
        Assert.Contains("client certificate", enroll.Diagnostic, StringComparison.Ordinal);
        var attributes = await Assert.ThrowsAsync<EstRequestException>(() => client.GetCsrAttributesAsync(timeout.Token));
        Assert.Equal(CoapCode.Unauthorized, attributes.Code);

        // The same session still gets /crts after the refusals.
        Assert.Equal(2, (await client.GetCaCertificatesAsync(EstCertificateFormat.CertsOnly, timeout.Token)).Count);
        Assert.Equal(before, await _server.CertificateCountAsync());
    }

    [Fact]
    public async Task OurCli_EnrollWithoutCert_IsRefused401AndIssuesNothing()
    {
        int before = await _server.CertificateCountAsync();

        string error = await CliAssert.FailsAsync(ExitCodes.ClientError, ["4.01", "client certificate"],
            ["est", "enroll", "--server", _server.Uri(), "--trust", _server.TrustAnchor, "--subject", "CN=anon-cli", "--key-out", Path.Combine(_scratch, "anon.key")]);

        Assert.DoesNotContain("Issued", error, StringComparison.Ordinal);
        Assert.Equal(before, await _server.CertificateCountAsync());
    }

    [Fact]
    public async Task ProfileOption_RequiresAClientCertificateForThatProfilesCrts()
    {
        await using var strict = await EstServer.StartAsync(new Dictionary<string, string?>
        {
            ["Ca:Profiles:strict:NamePolicy"] = "AnyName",
            ["Est:RequireClientCertificateForCrts:strict"] = "true",
        });
        string[] trust = ["--trust", strict.TrustAnchor];
        string[] device = [.. trust, "--cert", strict.DemoCertificate, "--key", strict.DemoKey];

        // The profile that requires one: 4.01 without a client certificate, the CA certificates with one.
        await CliAssert.FailsAsync(ExitCodes.ClientError, ["4.01", "client certificate"], ["est", "crts", "--server", strict.Uri("/strict"), .. trust]);
        CliResult authenticated = await CliRunner.RunAsync(["est", "crts", "--server", strict.Uri("/strict"), .. device]);
        Assert.True(authenticated.ExitCode == ExitCodes.Success && authenticated.Output.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal), authenticated.Describe());

        // libcoap without a client certificate is refused too, on the wire.
        foreach (string library in (string[])["openssl", "gnutls"])
        {
            ProcessResult refused = await EstTools.CoapClientAsync(library, "-m", "get", "-R", strict.TrustAnchor, strict.Uri("/.well-known/est/strict/crts"));
            Assert.True(refused.StandardError.Contains("4.01", StringComparison.Ordinal) || refused.StandardOutput.Contains("4.01", StringComparison.Ordinal),
                refused.Describe());
        }

        // The default profile is not named: still anonymous.
        CliResult anonymous = await CliRunner.RunAsync(["est", "crts", "--server", strict.Uri(), .. trust]);
        Assert.True(anonymous.ExitCode == ExitCodes.Success && anonymous.Output.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal), anonymous.Describe());
    }

    [Theory]
    [InlineData("default", "yes", "Est:RequireClientCertificateForCrts:default: 'yes' is not true or false")]
    [InlineData("nosuch", "true", "Est:RequireClientCertificateForCrts:nosuch: no such profile")]
    public async Task ProfileOption_Unusable_StopsTheStart(string profile, string value, string expected)
    {
        string data = Path.Combine(_scratch, "data-" + profile);

        CliResult result = await CliRunner.RunAsync("serve", "--bind", "127.0.0.1", "--coap-port", "0", "--coaps-port", "off", "--http-port", "off", "--https-port", "off",
            "--data", data, $"--Est:RequireClientCertificateForCrts:{profile}={value}", "--Logging:LogLevel:Default=None");

        Assert.True(result.ExitCode != ExitCodes.Success, result.Describe());
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CsrAttrs_NamesTheCurve()
    {
        CliResult result = await CliRunner.RunAsync("est", "csrattrs", "--server", _server.Uri(), "--trust", _server.TrustAnchor,
            "--cert", _server.DemoCertificate, "--key", _server.DemoKey);

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        string line = Assert.Single(result.Output.Split('\n'), l => l.StartsWith("attribute 1.2.840.10045.2.1", StringComparison.Ordinal));
        Assert.EndsWith(" secp256r1 (P-256)", line, StringComparison.Ordinal);
        Assert.DoesNotContain("06082A8648CE3D030107", result.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("oid 1.2.840.113549.1.9.7", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sen")]
    [InlineData("sren")]
    public async Task EmptyRequest_Is400EmptyRequest(string operation)
    {
        CliResult result = await CliRunner.RunAsync("coap", "post", _server.Uri("/.well-known/est/" + operation), "--content-format", "286",
            "--trust", _server.TrustAnchor, "--cert", _server.DemoCertificate, "--key", _server.DemoKey);

        Assert.True(result.ExitCode == ExitCodes.ClientError, result.Describe());
        string all = result.Output + result.Error;
        Assert.Contains("4.00", all, StringComparison.Ordinal);
        Assert.Contains("empty request", all, StringComparison.Ordinal);
        Assert.DoesNotContain("ASN1", all, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task EmptyCsrFile_IsAUsageErrorSayingEmpty()
    {
        string empty = Path.Combine(_scratch, "empty.csr");
        await File.WriteAllBytesAsync(empty, []);

        await CliAssert.FailsAsync(ExitCodes.Usage, ["is empty", "empty request"],
            ["est", "enroll", "--server", _server.Uri(), "--trust", _server.TrustAnchor, "--cert", _server.DemoCertificate, "--key", _server.DemoKey, "--csr", empty]);
    }

    [Fact]
    public async Task EstOverHttps_EmptyBody_Is400EmptyRequest()
    {
        await using var est = await EstHttpsHost.StartAsync();
        string empty = est.File("empty.b64");
        Directory.CreateDirectory(est.WorkingDirectory);
        await File.WriteAllBytesAsync(empty, []);

        CurlAnswer answer = await est.PostCsrAsync("empty", "simpleenroll", empty, est.DemoCertificate, est.DemoKey);

        Assert.True(answer.Status == 400, answer.Describe());
        Assert.Contains("empty request", answer.Body, StringComparison.Ordinal);
    }
}
