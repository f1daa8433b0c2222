using System.Globalization;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// <c>coap-client-openssl</c> and <c>coap-client-gnutls</c> (libcoap 4.3, two independent DTLS stacks) against
/// the coaps listener of the host <c>coapenroll serve</c> runs: without a client certificate (the server
/// validated by <c>-R trust-anchor.pem</c> and its IP SAN), with the demo device certificate, and with a
/// PSK. Each checks discovery at several block sizes, a 4 KB Block1 POST, a Block2 GET, and what the server
/// saw of the client (<c>/whoami</c>).
/// </summary>
public class LibCoapDtlsClientAgainstOurServerTests
{
    private const string PskIdentity = "libcoap-device";

    // libcoap 4.3.1 takes -k as the key's bytes; the server is configured with their hex.
    private const string PskText = "interop-psk-0123";

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (string flavour in LibCoap.DtlsFlavours)
        {
            foreach (string mode in new[] { "anonymous", "certificate", "psk" })
            {
                data.Add(flavour, mode);
            }
        }

        return data;
    }

    [Theory]
    [Trait("Needs", "dtls")]
    [MemberData(nameof(Matrix))]
    public async Task Coaps_DiscoveryBlock1Block2AndPeerIdentity(string flavour, string mode)
    {
        await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?>
        {
            [$"Dtls:Psk:{PskIdentity}"] = Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(PskText)),
        });
        string[] security = mode switch
        {
            "anonymous" => ["-R", server.TrustAnchorFile],
            "certificate" => ["-R", server.TrustAnchorFile, "-c", server.DemoDeviceCertificateFile, "-j", server.DemoDeviceKeyFile],
            _ => ["-k", PskText, "-u", PskIdentity],
        };

        // Who the server thinks we are.
        var whoami = await LibCoap.RunDtlsClientAsync(flavour, 10, [.. security, "-m", "get", server.SecureUri("/whoami")]);
        Assert.True(whoami.ExitCode == 0, whoami.Describe());
        string expected = mode switch
        {
            "anonymous" => "authentication: anonymous",
            "certificate" => "authentication: certificate",
            _ => $"psk-identity: {PskIdentity}",
        };
        Assert.True(whoami.StandardOutput.Contains(expected, StringComparison.Ordinal), whoami.Describe());
        if (mode == "certificate")
        {
            Assert.True(whoami.StandardOutput.Contains("CN=demo-device-1", StringComparison.Ordinal), whoami.Describe());
        }

        // Discovery, block-wise at a few sizes.
        foreach (int blockSize in new[] { 16, 64, 1024 })
        {
            var core = await LibCoap.RunDtlsClientAsync(flavour, 15, [.. security, "-m", "get", "-b", blockSize.ToString(CultureInfo.InvariantCulture),
                server.SecureUri("/.well-known/core")]);
            Assert.True(core.ExitCode == 0 && core.StandardOutput.Contains("</whoami>", StringComparison.Ordinal)
                && core.StandardOutput.Contains("</large>", StringComparison.Ordinal), $"-b {blockSize}{Environment.NewLine}{core.Describe()}");
        }

        string dir = Path.Combine(server.DataDirectory, "interop");
        Directory.CreateDirectory(dir);

        // A 4 KB POST with Block1 at 64 bytes: the handler sees the whole body, and it is echoed back (Block2).
        byte[] body = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 4096 / 16).Select(i => $"post line {i:D5}\n")));
        string input = Path.Combine(dir, "post.txt");
        string echo = Path.Combine(dir, "echo.txt");
        await File.WriteAllBytesAsync(input, body);
        var post = await LibCoap.RunDtlsClientAsync(flavour, 30, [.. security, "-m", "post", "-t", "0", "-b", "64", "-f", input, "-o", echo, server.SecureUri("/test")]);
        Assert.True(post.ExitCode == 0, post.Describe());
        Assert.True(server.Diagnostics.LastPost is { } last && last.Payload.Span.SequenceEqual(body),
            $"The server received {server.Diagnostics.LastPost?.Payload.Length ?? 0} bytes, expected {body.Length}.{Environment.NewLine}{post.Describe()}");
        Assert.Equal(body, await File.ReadAllBytesAsync(echo));

        // GET /large (4096 bytes) with Block2.
        string large = Path.Combine(dir, "large.txt");
        var get = await LibCoap.RunDtlsClientAsync(flavour, 30, [.. security, "-m", "get", "-b", "256", "-o", large, server.SecureUri("/large")]);
        Assert.True(get.ExitCode == 0 && File.Exists(large), get.Describe());
        Assert.Equal(DiagnosticResources.LargeBody.ToArray(), await File.ReadAllBytesAsync(large));
    }

    [Theory]
    [Trait("Needs", "dtls")]
    [InlineData("openssl")]
    [InlineData("gnutls")]
    public async Task Coaps_PskIdentitiesWithDashAndDot_GivenOnTheServeCommandLine(string flavour)
    {
        // The README's example identity, and one with dots and '@': opaque strings (RFC 4279 §5.1), each with its own key.
        const string dashed = "device-7";
        const string dotted = "sensor.42@plant-a.example";
        const string dashedKey = "interop-dashed-1";
        const string dottedKey = "interop-dotted-2";
        await using var server = await CliServer.StartAsync(
            $"--Dtls:Psk:{dashed}={Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(dashedKey))}",
            $"--Dtls:Psk:{dotted}={Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(dottedKey))}");

        foreach (var (identity, key) in new[] { (dashed, dashedKey), (dotted, dottedKey) })
        {
            var whoami = await LibCoap.RunDtlsClientAsync(flavour, 10, "-u", identity, "-k", key, "-m", "get", server.Uri("/whoami"));

            Assert.True(whoami.ExitCode == 0 && whoami.StandardOutput.Contains($"psk-identity: {identity}", StringComparison.Ordinal), whoami.Describe());
        }
    }

    [Theory]
    [Trait("Needs", "dtls")]
    [InlineData("openssl")]
    [InlineData("gnutls")]
    public async Task Coaps_ServerNotTrusted_ClientGivesUp(string flavour)
    {
        await using var server = await InProcessServer.StartAsync();
        using var other = new TestPki("Not The Server's CA");

        var result = await LibCoap.RunDtlsClientAsync(flavour, 5, "-R", other.CaFile, "-m", "get", server.SecureUri("/whoami"));

        Assert.False(result.StandardOutput.Contains("authentication:", StringComparison.Ordinal), result.Describe());
    }

    [Theory]
    [Trait("Needs", "dtls")]
    [InlineData("openssl")]
    [InlineData("gnutls")]
    public async Task Coaps_UntrustedClientCertificate_IsNotAuthenticated(string flavour)
    {
        // The server asks for a certificate but lets the handshake finish (RFC 7925 clients may have
        // none); the application sees that this chain did not validate, and EST answers such a device
        // 4.03 (see the EST interop tests).
        await using var server = await InProcessServer.StartAsync();
        using var pki = new TestPki("Unknown Manufacturer CA");
        var (certificate, key) = pki.Issue("device", "rogue-device");

        var result = await LibCoap.RunDtlsClientAsync(flavour, 5, "-R", server.TrustAnchorFile, "-c", certificate, "-j", key, "-m", "get", server.SecureUri("/whoami"));

        Assert.True(result.StandardOutput.Contains("authentication: unvalidated-certificate", StringComparison.Ordinal), result.Describe());
        Assert.Contains("subject: CN=rogue-device", result.StandardOutput, StringComparison.Ordinal);
    }
}
