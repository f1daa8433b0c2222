using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Ca.Pkcs11;
using CoapEnroll.Cli.Tests.Infrastructure;
using Net.Pkcs11Interop.Common;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// The operator's side of Ca:KeyProvider=Pkcs11 with SoftHSM2: <c>coapenroll ca init</c> generates the issuing key on the token
/// and writes DIR/ca/issuing.pem with no key file beside it; EST /sen then issues certificates openssl verifies; serve refuses to
/// start with a wrong PIN, a missing key or without <c>ca init</c>; while the token's sessions are lost devices get 5.03 and the
/// next request after the reconnect is served.
/// </summary>
[Collection(SoftHsmCollection.Name)]
public sealed class EstPkcs11Tests : IDisposable
{
    // The default profile issues any name here: the tests request names of their own with the demo device.
    private static readonly Dictionary<string, string?> AnyName = new() { ["Ca:Profiles:default:NamePolicy"] = "AnyName" };

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
    public async Task CaInit_KeyOnToken_NoKeyFile_SenIssuesWhatOpenSslVerifies()
    {
        await using EstServer server = await EstServer.StartOnTokenAsync(AnyName);

        Assert.True(File.Exists(server.IssuingCa));
        Assert.False(File.Exists(Path.Combine(server.DataDirectory, "ca", "issuing.key")));
        var key = Assert.IsType<Pkcs11SigningKey>(server.Certification.Hierarchy.IssuingKey);
        using X509Certificate2 issuing = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(server.IssuingCa));
        Assert.True(key.Matches(issuing));
        // The token says the key cannot leave it: sensitive, never extractable, and its value is not readable.
        var attributes = key.ReadPrivateKeyAttributes([CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_VALUE]);
        Assert.True(attributes[0].GetValueAsBool());
        Assert.False(attributes[1].GetValueAsBool());
        Assert.True(attributes[2].CannotBeRead);

        string issued = await SenAsync(server, "/CN=token-issued");

        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", server.TrustAnchor, "-untrusted", server.IssuingCa, issued));
    }

    [Fact]
    public async Task Serve_WithWrongPin_MissingKey_OrWithoutCaInit_RefusesToStartSayingWhy()
    {
        string data = Path.Combine(_scratch, "data");
        Dictionary<string, string?> token = await EstServer.NewTokenSettingsAsync(data);

        CliResult withoutInit = await ServeAsync(data, token);
        Assert.True(withoutInit.ExitCode == ExitCodes.Usage, withoutInit.Describe());
        Assert.Contains("coapenroll ca init", withoutInit.Error);

        CliResult init = await CliRunner.RunAsync(["ca", "init", "--data", data, .. Arguments(token)]);
        Assert.True(init.ExitCode == ExitCodes.Success, init.Describe());
        Assert.Contains("PKCS#11 key 'issuing'", init.Output);

        // The refused start made the demo root before it met the missing token key: the hints are still owed to the first start that works.
        Assert.True(File.Exists(Path.Combine(data, ".first-start-hints")));

        string wrongPin = Path.Combine(_scratch, "wrong.pin");
        await File.WriteAllTextAsync(wrongPin, "9999\n");
        CliResult badPin = await ServeAsync(data, new Dictionary<string, string?>(token) { ["Ca:Pkcs11:PinFile"] = wrongPin });
        // Exit 2, which the systemd unit does not restart: a wrong PIN tried every few seconds would lock the token.
        Assert.True(badPin.ExitCode == ExitCodes.Usage, badPin.Describe());
        Assert.Contains("Cannot open the CA key", badPin.Error);
        Assert.Contains("CKR_PIN_INCORRECT", badPin.Error);
        Assert.DoesNotContain("9999", badPin.Error + badPin.Output);

        CliResult noKey = await ServeAsync(data, new Dictionary<string, string?>(token) { ["Ca:Pkcs11:KeyLabel"] = "other" });
        Assert.True(noKey.ExitCode == ExitCodes.Usage, noKey.Describe());
        Assert.Contains("has no private key with key 'other'", noKey.Error);
    }

    [Fact]
    public async Task CaInit_CsrOut_WritesARequestSignedOnTheToken()
    {
        string data = Path.Combine(_scratch, "csr-data");
        Dictionary<string, string?> token = await EstServer.NewTokenSettingsAsync(data);
        string csr = Path.Combine(_scratch, "issuing.csr");

        CliResult result = await CliRunner.RunAsync(["ca", "init", "--data", data, "--csr-out", csr, "--subject", "CN=External Issuing,O=Example", .. Arguments(token)]);

        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        ProcessResult verified = await ExternalProcess.RunAsync(RequiredTool.Find("openssl", "openssl"), ["req", "-in", csr, "-verify", "-noout", "-subject"], EstTools.Timeout);
        Assert.True(verified.ExitCode == 0 && verified.StandardError.Contains("verify OK", StringComparison.Ordinal), verified.Describe());
        Assert.Contains("CN = External Issuing", verified.StandardOutput);
        Assert.False(File.Exists(Path.Combine(data, "ca", "issuing.key")));

        CliResult fileKeys = await CliRunner.RunAsync("ca", "init", "--data", Path.Combine(_scratch, "file-data"), "--csr-out", csr);
        Assert.True(fileKeys.ExitCode == ExitCodes.Usage, fileKeys.Describe());
    }

    [Fact]
    public async Task CaInit_ASettingToChange_Exits2_AModuleThatIsNotThere_Exits1()
    {
        string data = Path.Combine(_scratch, "init-refused");
        Dictionary<string, string?> token = await EstServer.NewTokenSettingsAsync(data);

        await CliAssert.FailsAsync(ExitCodes.Usage, ["Ca:KeyProvider 'Foo' is not one of File, Pkcs11"], ["ca", "init", "--data", data, "--Ca:KeyProvider=Foo"]);
        await CliAssert.FailsAsync(ExitCodes.Usage, ["Ca:Pkcs11:KeyType is one of EcP256, EcP384, Rsa2048, Rsa3072"],
            ["ca", "init", "--data", data, .. Arguments(token), "--Ca:Pkcs11:KeyType=Ec256"]);
        string module = token["Ca:Pkcs11:Module"]!;
        token["Ca:Pkcs11:Module"] = Path.Combine(_scratch, "no-such-module.so");
        await CliAssert.FailsAsync(ExitCodes.Failure, ["does not exist"], ["ca", "init", "--data", data, .. Arguments(token)]);

        // A data directory that cannot be made: one line, not a crash.
        string file = Path.Combine(_scratch, "a-file");
        await File.WriteAllTextAsync(file, "x");
        await CliAssert.FailsAsync(ExitCodes.Failure, [$"ca init: cannot write the CA to {Path.Combine(file, "data")}: "], ["ca", "init", "--data", Path.Combine(file, "data")]);

        // The settings corrected, the same command on the same directory makes the CA.
        token["Ca:Pkcs11:Module"] = module;
        await CliAssert.SucceedsAsync(["ca", "init", "--data", data, .. Arguments(token)]);
        Assert.True(File.Exists(Path.Combine(data, "ca", "issuing.pem")));
        Assert.False(File.Exists(Path.Combine(data, "ca", "issuing.key")));
    }

    [Fact]
    public async Task LostTokenSessions_Answer503_ThenTheNextEnrollmentIsServed()
    {
        await using EstServer server = await EstServer.StartOnTokenAsync(AnyName);
        var key = Assert.IsType<Pkcs11SigningKey>(server.Certification.Hierarchy.IssuingKey);
        await SenAsync(server, "/CN=before-loss");
        int before = await server.CertificateCountAsync();

        key.LoseTokenUntilReleased();
        var (_, csr) = await EstTools.NewCsrAsync(_scratch, "lost", "/CN=during-loss");
        ProcessResult refused = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-f", csr, "-c", server.DemoCertificate, "-j", server.DemoKey,
            "-R", server.TrustAnchor, server.Uri("/.well-known/est/sen"));

        Assert.True((refused.StandardOutput + refused.StandardError).Contains("5.03", StringComparison.Ordinal), refused.Describe());
        Assert.Equal(before, await server.CertificateCountAsync());
        key.ReleaseReconnect();
        string issued = await SenAsync(server, "/CN=after-reconnect");
        Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", server.TrustAnchor, "-untrusted", server.IssuingCa, issued));
    }

    [Fact]
    public async Task LostTokenSessions_OverHttps_Answer503WithRetryAfter_ThenTheNextEnrollmentIsServed()
    {
        await using EstHttpsHost est = await EstHttpsHost.StartOnTokenAsync();
        var key = Assert.IsType<Pkcs11SigningKey>(est.Certification.Hierarchy.IssuingKey);

        // One issuance first, as the CoAP test does, so that the key holds an idle signing session when the token's sessions are
        // closed: the next signature then meets the closed session. Without it the request may open a fresh session and sign (seen
        // once on a clean clone), and the loss is never noticed.
        CurlAnswer warm = await est.PostCsrAsync("warm", "simpleenroll", await est.NewCsrAsync("warm", "/CN=demo-device-1"), est.DemoCertificate, est.DemoKey);
        Assert.True(warm.Status == 200, warm.Describe());
        int before = (await est.Store.ListCertificatesAsync(10_000, CancellationToken.None)).Count;

        key.LoseTokenUntilReleased();
        string csr = await est.NewCsrAsync("lost", "/CN=demo-device-1");
        CurlAnswer refused = await est.PostCsrAsync("lost", "simpleenroll", csr, est.DemoCertificate, est.DemoKey);

        // RFC 9110 §15.6.4 / RFC 7030 §4.2.3: 503 with Retry-After in seconds; the client repeats the request then.
        Assert.True(refused.Status == 503, refused.Describe());
        Assert.True(uint.TryParse(refused.Header("Retry-After"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
            out uint retryAfter) && retryAfter > 0, refused.Describe());
        Assert.Contains("the CA key is unavailable", refused.Body, StringComparison.Ordinal);
        Assert.Equal(before, (await est.Store.ListCertificatesAsync(10_000, CancellationToken.None)).Count);

        // /readyz tells the load balancer, and its probe reconnects the key once the token can be reached, with no request needed.
        using var monitoring = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{est.HttpPort}") };
        using (HttpResponseMessage notReady = await monitoring.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.StartsWith("not ready: the CA key is unavailable: ", await notReady.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        key.ReleaseReconnect();
        using (HttpResponseMessage ready = await monitoring.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        }

        Assert.True(key.IsAvailable);

        // The same request again: served with the reconnected key, and the certificate verifies.
        CurlAnswer served = await est.PostCsrAsync("served", "simpleenroll", csr, est.DemoCertificate, est.DemoKey);
        Assert.True(served.Status == 200, served.Describe());
        (string pem, _) = await est.PrintCertsAsync(est.DecodeBase64(served.BodyFile, "served.p7"), "served");
        await est.VerifyAsync(pem);
        Assert.Equal(before + 1, (await est.Store.ListCertificatesAsync(10_000, CancellationToken.None)).Count);
    }

    private async Task<string> SenAsync(EstServer server, string subject)
    {
        var (_, csr) = await EstTools.NewCsrAsync(_scratch, Guid.NewGuid().ToString("N"), subject);
        string output = Path.Combine(_scratch, Guid.NewGuid().ToString("N") + ".der");
        ProcessResult result = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-A", "287", "-f", csr, "-c", server.DemoCertificate, "-j", server.DemoKey,
            "-R", server.TrustAnchor, "-o", output, server.Uri("/.well-known/est/sen"));
        Assert.True(result.ExitCode == 0 && File.Exists(output) && new FileInfo(output).Length > 0, result.Describe());
        string pem = Path.ChangeExtension(output, ".pem");
        await EstTools.OpenSslAsync("x509", "-inform", "DER", "-in", output, "-out", pem);
        return pem;
    }

    private static async Task<CliResult> ServeAsync(string data, Dictionary<string, string?> settings)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await CliRunner.RunAsync(["serve", "--bind", "127.0.0.1", "--coap-port", "0", "--http-port", "0", "--https-port", "0", "--Dtls:Port=0", "--data", data,
            .. Arguments(settings)], timeout.Token);
    }

    private static IEnumerable<string> Arguments(Dictionary<string, string?> settings) => settings.Select(s => $"--{s.Key}={s.Value}");
}
