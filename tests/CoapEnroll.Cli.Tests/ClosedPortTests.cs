using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// A client pointed at a UDP port where nothing listens fails at once on the kernel's ICMP port unreachable instead of
/// retransmitting until its timeout (issue 14 item 1).
/// </summary>
public class ClosedPortTests
{
    // Generous for a loaded machine: without the fix these commands take 60 s or more.
    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task CoapGet_ClosedPort_FailsAtOnceWithPortUnreachable()
    {
        int port = CoapEnroll.Testing.ClosedUdpPort.Pick();

        var watch = Stopwatch.StartNew();
        var result = await CliRunner.RunAsync("coap", "get", $"coap://127.0.0.1:{port}/test");
        watch.Stop();

        Assert.True(result.ExitCode == ExitCodes.NoResponse, result.Describe());
        Assert.Contains($"nothing listens on 127.0.0.1:{port} (port unreachable)", result.Error, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < Quickly, $"took {watch.Elapsed}; {result.Describe()}");
    }

    [Theory]
    [InlineData("crts")]
    [InlineData("enroll")]
    public async Task Est_ClosedPort_FailsAtOnceWithPortUnreachable(string operation)
    {
        int port = CoapEnroll.Testing.ClosedUdpPort.Pick();
        string dir = Directory.CreateTempSubdirectory("coapenroll-closed-").FullName;
        try
        {
            string trust = Path.Combine(dir, "trust.pem");
            using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
            {
                var request = new CertificateRequest("CN=unused trust anchor", key, HashAlgorithmName.SHA256);
                using var anchor = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
                await File.WriteAllTextAsync(trust, anchor.ExportCertificatePem());
            }

            string[] args = operation == "enroll"
                ? ["est", "enroll", "--server", $"coaps://127.0.0.1:{port}", "--trust", trust, "--subject", "CN=dev-1", "--key-out", Path.Combine(dir, "key.pem")]
                : ["est", "crts", "--server", $"coaps://127.0.0.1:{port}", "--trust", trust];

            var watch = Stopwatch.StartNew();
            var result = await CliRunner.RunAsync(args);
            watch.Stop();

            Assert.True(result.ExitCode == ExitCodes.NoResponse, result.Describe());
            Assert.Contains($"nothing listens on 127.0.0.1:{port} (port unreachable)", result.Error, StringComparison.Ordinal);
            Assert.True(watch.Elapsed < Quickly, $"took {watch.Elapsed}; {result.Describe()}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
