using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cmp;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>Our CMP client (the library and <c>coapenroll cmp</c>) against OpenSSL's mock CMP server: an independent peer.</summary>
[Trait("Needs", "openssl")]
public sealed class CmpClientOpenSslMockTests : CmpTestBase
{
    /// <summary>The mock answers with a fixed certificate: one for <paramref name="key"/>, self-issued, so the client's key check holds.</summary>
    private async Task<(string Certificate, ECDsa Key)> ResponseCertificateAsync()
    {
        string keyFile = await OpenSsl.NewKeyAsync("mock-leaf.key");
        string cert = OpenSsl.File("mock-leaf.pem");
        await OpenSsl.MustAsync("req", "-x509", "-new", "-key", keyFile, "-subj", "/CN=mock-leaf", "-days", "2", "-out", cert);
        var key = ECDsa.Create();
        key.ImportFromPem(await File.ReadAllTextAsync(keyFile));
        return (cert, key);
    }

    private static CmpClient Client(HttpClient http, OpenSslMockCmpServer server, bool pbmac1 = false, bool implicitConfirm = false) =>
        new(new CmpHttpTransport(http, new Uri(server.Url())), new CmpClientOptions
        {
            Reference = "client-ref",
            SharedSecret = System.Text.Encoding.UTF8.GetBytes(OpenSslMockCmpServer.Secret),
            MacParameters = pbmac1 ? CmpMacParameters.Pbmac1() : CmpMacParameters.PasswordBasedMac(),
            ImplicitConfirm = implicitConfirm,

            // OpenSSL 3.0's mock server MACs its answers with PasswordBasedMac and HMAC-SHA1.
            AnswerMacPolicy = new CmpMacPolicy { MinIterations = 100, AllowHmacSha1 = true },
        });

    /// <summary>
    /// One operation against a mock of its own, again (up to twice) against a new mock process and a new HttpClient when the mock reset
    /// the connection before its answer was read. Under full-suite load OpenSSL 3.0's single-threaded mock has reset the connection
    /// that carried a complete request it had processed (its log shows the request; seen on a cr after an ir, on an rr, and twice in a
    /// row on one mock on 6-7 Dec 2026; never with this test alone). The cause is not known; a new process is the cheapest way back
    /// to a known state. No retry of ours would be safe against a real CA; against the mock, which answers every request with its
    /// fixed certificate, it is just another request. Every attempt's mock log is kept for the failure message.
    /// </summary>
    private static async Task<T> MockAsync<T>(string responseCertificate, Func<HttpClient, OpenSslMockCmpServer, Task<T>> operation)
    {
        var logs = new System.Text.StringBuilder();
        for (int attempt = 1; ; attempt++)
        {
            await using OpenSslMockCmpServer server = await OpenSslMockCmpServer.StartAsync(responseCertificate);
            using var http = new HttpClient();
            try
            {
                return await operation(http, server);
            }
            catch (HttpRequestException e) when (e.InnerException is IOException { InnerException: System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionReset } })
            {
                logs.Append("attempt ").Append(attempt).Append(": ").AppendLine(e.Message).AppendLine(server.Log);
                if (attempt == 3)
                {
                    throw new Xunit.Sdk.XunitException($"the mock reset the connection {attempt} times; its logs:\n{logs}");
                }
            }
        }
    }

    [Fact]
    public async Task Ir_Cr_Genm_Rr_WithTheLibrary()
    {
        var (cert, key) = await ResponseCertificateAsync();
        using (key)
        {
            using var expected = X509CertificateLoader.LoadCertificateFromFile(cert);

            CmpEnrollmentResult ir = await MockAsync(cert, (http, server) => Client(http, server).EnrollAsync(PkiBodyType.Ir, key, new X500DistinguishedName("CN=mock-leaf"), null, CancellationToken.None));
            Assert.Equal(expected.RawData, ir.Certificate.RawData);
            Assert.False(ir.ImplicitlyConfirmed);

            CmpEnrollmentResult cr = await MockAsync(cert, (http, server) => Client(http, server, implicitConfirm: true).EnrollAsync(PkiBodyType.Cr, key, new X500DistinguishedName("CN=mock-leaf"), null, CancellationToken.None));
            Assert.Equal(expected.RawData, cr.Certificate.RawData);

            IReadOnlyList<InfoTypeAndValue> items = await MockAsync(cert, (http, server) => Client(http, server).GeneralAsync([CmpInfoTypes.CaCerts], CancellationToken.None));
            Assert.Contains(items, i => i.InfoType == CmpInfoTypes.CaCerts);

            await MockAsync(cert, (http, server) => Client(http, server).RevokeAsync(expected, 1, CancellationToken.None));
        }
    }

    [Fact]
    public async Task Polling_CheckAfter_IsReportedAndWaitedOut()
    {
        var (cert, key) = await ResponseCertificateAsync();
        using (key)
        {
            await using var server = await OpenSslMockCmpServer.StartAsync(cert, "-poll_count", "2", "-check_after", "1");
            using var http = new HttpClient();
            CmpClient client = Client(http, server);
            var waits = new List<CmpWaiting>();
            client.Options.Waiting = new SyncProgress(waits.Add);
            CmpEnrollmentResult ir = await client.EnrollAsync(PkiBodyType.Ir, key, new X500DistinguishedName("CN=mock-leaf"), null, CancellationToken.None);
            Assert.True(ir.Polled);
            Assert.NotEmpty(waits);
            Assert.All(waits, w => Assert.Equal(TimeSpan.FromSeconds(1), w.CheckAfter));
        }
    }

    [Fact]
    public async Task Cli_GenmAndRr_AndAWrongSecret()
    {
        var (cert, key) = await ResponseCertificateAsync();
        key.Dispose();
        await using var server = await OpenSslMockCmpServer.StartAsync(cert);
        Environment.SetEnvironmentVariable(SecretVariable, OpenSslMockCmpServer.Secret);
        CliResult genm = await CliRunner.RunAsync("cmp", "genm", "--server", server.Url(), "--ref", "client-ref", "--secret-env", SecretVariable, "--infotype", "caCerts", "--allow-hmac-sha1");
        Assert.True(genm.ExitCode == 0, genm.Describe());
        // (Not --pbmac1: OpenSSL 3.0 does not know PBMAC1 and refuses it with badRequest.)
        CliResult rr = await CliRunner.RunAsync("cmp", "rr", "--server", server.Url(), "--ref", "client-ref", "--secret-env", SecretVariable,
            "--oldcert", cert, "--reason", "4", "--allow-hmac-sha1");
        Assert.True(rr.ExitCode == 0, rr.Describe());

        Environment.SetEnvironmentVariable(SecretVariable, "wrong");
        CliResult wrong = await CliRunner.RunAsync("cmp", "genm", "--server", server.Url(), "--ref", "client-ref", "--secret-env", SecretVariable, "--infotype", "caCerts", "--allow-hmac-sha1");
        Assert.True(wrong.ExitCode is 1 or 4, wrong.Describe());
        Assert.Contains("protection", wrong.Error, StringComparison.Ordinal);
        Assert.Single(wrong.Error.Trim().Split('\n'));
    }

    private sealed class SyncProgress(Action<CmpWaiting> report) : IProgress<CmpWaiting>
    {
        public void Report(CmpWaiting value) => report(value);
    }
}
