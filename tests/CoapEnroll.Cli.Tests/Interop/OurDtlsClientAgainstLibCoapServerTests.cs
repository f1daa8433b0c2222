using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// <c>coapenroll coap … coaps://</c> against <c>coap-server-openssl</c> and <c>coap-server-gnutls</c> (libcoap 4.3):
/// PKI with a server certificate from a test CA (anonymous client, and with a client certificate the server
/// requires and validates with <c>-R</c>, so a passing handshake proves it authenticated us), and PSK. Each does GET / and a PUT then GET of /example_data larger than one block.
/// </summary>
public class OurDtlsClientAgainstLibCoapServerTests
{
    private const string PskKeyText = "libcoap-server-psk";
    private const string PskIdentity = "coapenroll-client";

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (string flavour in LibCoap.DtlsFlavours)
        {
            foreach (string mode in new[] { "pki", "pki-client-certificate", "psk" })
            {
                data.Add(flavour, mode);
            }
        }

        return data;
    }

    [Theory]
    [Trait("Needs", "dtls")]
    [MemberData(nameof(Matrix))]
    public async Task Coaps_GetAndPutGetLargerThanABlock(string flavour, string mode)
    {
        using var pki = new TestPki("libcoap Interop CA");
        var (serverCertificate, serverKey) = pki.Issue("server", "localhost");
        var (clientCertificate, clientKey) = pki.Issue("client", "coapenroll-client");
        string[] serverArguments = mode switch
        {
            "psk" => ["-k", PskKeyText],

            // With -R libcoap requires a client certificate and validates it; -n lets an anonymous client in.
            "pki" => ["-c", serverCertificate, "-j", serverKey, "-n"],
            _ => ["-c", serverCertificate, "-j", serverKey, "-R", pki.CaFile],
        };
        string[] clientArguments = mode switch
        {
            "psk" => ["--psk-identity", PskIdentity, "--psk-key", Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(PskKeyText))],
            "pki-client-certificate" => ["--trust", pki.CaFile, "--cert", clientCertificate, "--key", clientKey],
            _ => ["--trust", pki.CaFile],
        };
        await using var server = await LibCoapServer.StartDtlsAsync(flavour, serverArguments);

        var root = await CliRunner.RunAsync(["coap", "get", server.SecureUri("/"), .. clientArguments, "--timeout", "15"]);
        Assert.True(root.ExitCode == ExitCodes.Success, $"{root.Describe()}{Environment.NewLine}{server.Output}");
        Assert.Contains("This is a test server made with libcoap", root.Output, StringComparison.Ordinal);

        string input = Path.Combine(pki.Directory, "in.txt");
        string output = Path.Combine(pki.Directory, "out.txt");
        byte[] body = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 300).Select(i => $"line {i:D4}\n")));
        await File.WriteAllBytesAsync(input, body);

        var put = await CliRunner.RunAsync(["coap", "put", server.SecureUri("/example_data"), .. clientArguments, "--payload-file", input, "-t", "text",
            "--block-size", "256", "--timeout", "30"]);
        var get = await CliRunner.RunAsync(["coap", "get", server.SecureUri("/example_data"), .. clientArguments, "--block-size", "256", "--out", output,
            "--timeout", "30"]);

        Assert.True(put.ExitCode == ExitCodes.Success, $"{put.Describe()}{Environment.NewLine}{server.Output}");
        Assert.True(get.ExitCode == ExitCodes.Success && File.Exists(output), $"{get.Describe()}{Environment.NewLine}{server.Output}");
        byte[] received = await File.ReadAllBytesAsync(output);
        Assert.True(received.AsSpan().SequenceEqual(body),
            $"GET returned {received.Length} bytes, expected the {body.Length} bytes PUT.{Environment.NewLine}{get.Describe()}{Environment.NewLine}{server.Output}");
    }

    [Theory]
    [Trait("Needs", "dtls")]
    [InlineData("openssl")]
    [InlineData("gnutls")]
    public async Task Coaps_ServerFromAnotherCa_FailsWithUnknownCa(string flavour)
    {
        using var pki = new TestPki("libcoap Interop CA");
        using var other = new TestPki("Some Other CA");
        var (serverCertificate, serverKey) = pki.Issue("server", "localhost");
        await using var server = await LibCoapServer.StartDtlsAsync(flavour, "-c", serverCertificate, "-j", serverKey, "-R", pki.CaFile);

        var result = await CliRunner.RunAsync("coap", "get", server.SecureUri("/"), "--trust", other.CaFile, "--timeout", "15");

        Assert.True(result.ExitCode == ExitCodes.NoResponse, $"{result.Describe()}{Environment.NewLine}{server.Output}");
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"coapenroll: error: DTLS handshake with 127.0.0.1:{server.SecurePort} failed: unknown_ca", line, StringComparison.Ordinal);
    }
}
