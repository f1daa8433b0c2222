using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// Legacy peers without RFC 7627's extended_master_secret, made from libcoap's OpenSSL programs with the OpenSSL option
/// turned off: <c>coap-client-openssl</c> against the host <c>serve</c> runs (refused by default, admitted and shown by
/// <c>/whoami</c> with <c>Dtls:ExtendedMasterSecret=Optional</c>), and our <c>coap</c>/<c>est</c> commands against
/// <c>coap-server-openssl</c> (refused unless <c>--extended-master-secret optional</c>, and no <c>--pop-link</c> over it).
/// </summary>
public class LegacyExtendedMasterSecretInteropTests
{
    private const string PskIdentity = "legacy-device";
    private const string PskText = "legacy-psk-01234";

    [Theory]
    [Trait("Needs", "dtls")]
    [InlineData("Required", "certificate")]
    [InlineData("Required", "psk")]
    [InlineData("Optional", "certificate")]
    [InlineData("Optional", "psk")]
    public async Task LegacyLibCoapClient_AgainstServe(string policy, string mode)
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?>
        {
            ["Dtls:ExtendedMasterSecret"] = policy,
            [$"Dtls:Psk:{PskIdentity}"] = Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(PskText)),
        });
        string[] security = mode == "psk"
            ? ["-k", PskText, "-u", PskIdentity]
            : ["-R", server.TrustAnchorFile, "-c", server.DemoDeviceCertificateFile, "-j", server.DemoDeviceKeyFile];
        var legacy = LibCoap.OpenSslWithoutExtendedMasterSecret(server.DataDirectory);

        var whoami = await LibCoap.RunDtlsClientAsync("openssl", 5, legacy, [.. security, "-m", "get", server.SecureUri("/whoami")]);

        if (policy == "Required")
        {
            Assert.False(whoami.StandardOutput.Contains("transport:", StringComparison.Ordinal), whoami.Describe());

            // The same client with OpenSSL's defaults offers the extension and gets in: the refusal was about the extension.
            var modern = await LibCoap.RunDtlsClientAsync("openssl", 5, [.. security, "-m", "get", server.SecureUri("/whoami")]);
            Assert.True(modern.ExitCode == 0 && modern.StandardOutput.Contains("extended-master-secret: yes", StringComparison.Ordinal), modern.Describe());
            return;
        }

        Assert.True(whoami.ExitCode == 0, whoami.Describe());
        Assert.True(whoami.StandardOutput.Contains("extended-master-secret: no", StringComparison.Ordinal), whoami.Describe());
        Assert.True(whoami.StandardOutput.Contains(mode == "psk" ? $"psk-identity: {PskIdentity}" : "authentication: certificate", StringComparison.Ordinal),
            whoami.Describe());
    }

    [Fact]
    [Trait("Needs", "dtls")]
    public async Task OurClient_AgainstLegacyLibCoapServer()
    {
        using var pki = new TestPki("Legacy Interop CA");
        var (serverCertificate, serverKey) = pki.Issue("server", "localhost");
        var (clientCertificate, clientKey) = pki.Issue("client", "legacy-client");
        await using var server = await LibCoapServer.StartDtlsAsync("openssl", LibCoap.OpenSslWithoutExtendedMasterSecret(pki.Directory),
            "-c", serverCertificate, "-j", serverKey, "-n");

        var refused = await CliRunner.RunAsync("coap", "get", server.SecureUri("/"), "--trust", pki.CaFile, "--timeout", "15");
        Assert.True(refused.ExitCode == ExitCodes.NoResponse, $"{refused.Describe()}{Environment.NewLine}{server.Output}");
        string line = Assert.Single(refused.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"coapenroll: error: DTLS handshake with 127.0.0.1:{server.SecurePort} failed: handshake_failure (server does not negotiate "
            + "extended_master_secret (RFC 7627)); --extended-master-secret optional admits such a legacy server", line);

        var admitted = await CliRunner.RunAsync("coap", "get", server.SecureUri("/"), "--trust", pki.CaFile, "--extended-master-secret", "optional",
            "--verbose", "--timeout", "15");
        Assert.True(admitted.ExitCode == ExitCodes.Success, $"{admitted.Describe()}{Environment.NewLine}{server.Output}");
        Assert.Contains("This is a test server made with libcoap", admitted.Output, StringComparison.Ordinal);
        Assert.Contains("without extended_master_secret (RFC 7627)", admitted.Error, StringComparison.Ordinal);

        // --pop-link would put a tls-unique that does not identify the session into the CSR: refused before any request.
        string keyOut = Path.Combine(pki.Directory, "legacy.key");
        var popLink = await CliRunner.RunAsync("est", "enroll", "--server", $"coaps://127.0.0.1:{server.SecurePort}", "--trust", pki.CaFile,
            "--cert", clientCertificate, "--key", clientKey, "--subject", "CN=legacy-client", "--key-out", keyOut, "--pop-link",
            "--extended-master-secret", "optional", "--timeout", "15");
        Assert.True(popLink.ExitCode == ExitCodes.Failure, $"{popLink.Describe()}{Environment.NewLine}{server.Output}");
        line = Assert.Single(popLink.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("coapenroll: error: --pop-link needs a DTLS session with extended_master_secret", line, StringComparison.Ordinal);
        Assert.False(File.Exists(keyOut), "a key was made for a request that was never sent");
    }
}
