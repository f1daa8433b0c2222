using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Dtls;
using CertificateRequest = System.Security.Cryptography.X509Certificates.CertificateRequest;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// A server that completes the DTLS handshake and then never answers a request (our own <see cref="DtlsServerChannel"/>, whose
/// application data nobody reads): <c>est</c> and <c>cmp</c> give up after --timeout with a message that says the handshake
/// worked and what to check next (issue 14), not the hint for a server that does not answer at all.
/// </summary>
public sealed class SilentServerTimeoutTests : IAsyncLifetime
{
    private const string SecretVariable = "COAPENROLL_TEST_SILENT_SERVER_SECRET";
    private readonly string _directory = Directory.CreateTempSubdirectory("coapenroll-silent-").FullName;
    private DtlsServerChannel? _server;

    private string TrustAnchor => Path.Combine(_directory, "silent-anchor.pem");

    private string Uri => $"coaps://127.0.0.1:{((IPEndPoint)_server!.LocalEndPoint).Port}";

    public async Task InitializeAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=silent server", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        await File.WriteAllTextAsync(TrustAnchor, certificate.ExportCertificatePem());

        // The channel handshakes in its own receive loop; the decrypted requests wait in its queue, and nothing ever reads them.
        _server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), new DtlsServerOptions { Certificate = certificate });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData("crts")]
    [InlineData("enroll")]
    public async Task Est_HandshakeThenSilence_TimesOutWithWhatToCheck(string operation)
    {
        string[] args = operation == "enroll"
            ? ["est", "enroll", "--server", Uri, "--trust", TrustAnchor, "--subject", "CN=dev-1", "--key-out", Path.Combine(_directory, "dev.key"), "--timeout", "3"]
            : ["est", "crts", "--server", Uri, "--trust", TrustAnchor, "--timeout", "3"];

        string line = await CliAssert.FailsAsync(ExitCodes.NoResponse, [$"EST {operation}: no response from 127.0.0.1:", "The DTLS handshake succeeded",
            "/.well-known/core", "the server's log", "--timeout"], args);

        Assert.DoesNotContain("handshake with", line, StringComparison.Ordinal);
        Assert.DoesNotContain("no firewall drops UDP", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CoapGet_HandshakeThenSilence_TimesOutWithWhatToCheck()
    {
        string line = await CliAssert.FailsAsync(ExitCodes.NoResponse, ["No response from 127.0.0.1:", "The DTLS handshake succeeded", "--timeout"],
            ["coap", "get", Uri + "/test", "--trust", TrustAnchor, "--timeout", "3"]);

        Assert.DoesNotContain("no firewall drops UDP", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CmpOverHttp_ConnectionThenSilence_TimesOutWithWhatToCheck()
    {
        // The kernel completes the TCP handshake for the listen queue; nothing ever reads the request or answers it.
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Environment.SetEnvironmentVariable(SecretVariable, "silent-server-secret");

        CliResult result = await CliRunner.RunAsync("cmp", "genm", "--server", $"http://127.0.0.1:{port}", "--ref", "dev-1", "--secret-env", SecretVariable,
            "--infotype", "caCerts", "--timeout", "3");

        Assert.True(result.ExitCode == ExitCodes.NoResponse, result.Describe());
        Assert.Contains($"CMP genm: no response from http://127.0.0.1:{port}/.well-known/cmp within 3 s", result.Error, StringComparison.Ordinal);
        Assert.Contains("accepted the connection but sent no HTTP answer", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cmp_HandshakeThenSilence_TimesOutWithWhatToCheck()
    {
        Environment.SetEnvironmentVariable(SecretVariable, "silent-server-secret");
        CliResult result = await CliRunner.RunAsync("cmp", "genm", "--server", Uri, "--trust", TrustAnchor, "--ref", "dev-1", "--secret-env", SecretVariable,
            "--infotype", "caCerts", "--timeout", "3");

        Assert.True(result.ExitCode == ExitCodes.NoResponse, result.Describe());
        Assert.Contains("CMP genm: no response from coaps://127.0.0.1:", result.Error, StringComparison.Ordinal);
        Assert.Contains("The DTLS handshake succeeded", result.Error, StringComparison.Ordinal);
        Assert.Contains("--timeout", result.Error, StringComparison.Ordinal);
    }
}
