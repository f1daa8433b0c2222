using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// Two <c>coapenroll serve</c> processes on one machine (issue 10): B is the CA with EST over HTTPS; A is an EST-coaps registrar
/// in front of it (<c>--upstream-est</c>, with a registrar certificate B issued by <c>coapenroll ca registrar</c>).
/// <c>coap-client-openssl</c> enrolls, re-enrolls and has a key generated through A; the certificates chain to B's anchor; B's store
/// records A as the registrar and the device as the subject; approval on B is 5.03 + Max-Age on A until <c>requests approve</c>;
/// B down is 5.03 on A within its timeout, and A serves again when B returns.
/// </summary>
public sealed class RegistrarTwoInstanceTests : IDisposable
{
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
    [Trait("Needs", "dtls")]
    public async Task A_registrar_in_front_of_a_CA_enrolls_re_enrolls_generates_keys_waits_for_approval_and_survives_the_CA_going_away()
    {
        string bDirectory = Directory.CreateDirectory(Path.Combine(_scratch, "b")).FullName, aDirectory = Directory.CreateDirectory(Path.Combine(_scratch, "a")).FullName;
        int httpsPort = CliServer.FreeTcpPort();
        string[] bArguments = ["--https-port", httpsPort.ToString(CultureInfo.InvariantCulture), "--Ca:Profiles:manual:RequiresApproval=true", "--Est:PendingRetryAfter=00:00:02"];
        ServeProcess? b = await ServeProcess.StartAsync(bDirectory, bArguments);
        try
        {
            Assert.Equal(httpsPort, await b.WaitForHttpsPortAsync());
            string[] bData = ["--data", b.DataDirectory];
            string bAnchor = b.TrustAnchor;
            string ra = File("ra.pem"), raKey = File("ra.key");
            await CliAssert.SucceedsAsync(["ca", "registrar", "--subject", "CN=edge-a", "--out", ra, "--key-out", raKey, .. bData]);
            using X509Certificate2 raCertificate = X509Certificate2.CreateFromPem(await System.IO.File.ReadAllTextAsync(ra));
            string raName = $"CN=edge-a sha256:{raCertificate.GetCertHashString(HashAlgorithmName.SHA256)}";
            string bIssuing = Path.Combine(b.DataDirectory, "ca", "issuing.pem");
            string bChain = File("b-chain.pem");
            await System.IO.File.WriteAllTextAsync(bChain, await System.IO.File.ReadAllTextAsync(b.TrustAnchor) + await System.IO.File.ReadAllTextAsync(bIssuing));

            await using ServeProcess a = await ServeProcess.StartAsync(aDirectory, "--upstream-est", $"https://127.0.0.1:{httpsPort}/.well-known/est",
                "--upstream-cert", ra, "--upstream-key", raKey, "--upstream-trust", b.TrustAnchor, "--trust-manufacturer", bChain,
                "--Upstream:TimeoutSeconds=20", "--Est:UpstreamRetryAfter=00:00:04");
            // The start-up line names the file the registrar presents upstream, so an operator sees which RA certificate is in use.
            Assert.Contains($"client certificate {Path.GetFullPath(ra)};", a.Output, StringComparison.Ordinal);
            string device = Path.Combine(a.DataDirectory, "demo", "device.pem"), deviceKey = Path.Combine(a.DataDirectory, "demo", "device.key");

            // Enroll through A: the certificate is B's.
            (string key, string csr) = await EstTools.NewCsrAsync(_scratch, "dev", "/CN=demo-device-1");
            string issued = await PostAsync(a, "sen", csr, device, deviceKey, "dev");
            Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", b.TrustAnchor, "-untrusted", bIssuing, issued), StringComparison.Ordinal);
            Assert.Equal("subject=CN=demo-device-1", (await EstTools.OpenSslAsync("x509", "-in", issued, "-noout", "-subject", "-nameopt", "RFC2253")).Trim());
            string[] rows = await ListAsync("issued", bData);
            Assert.True(rows.Any(r => r.Contains("\test-https\t", StringComparison.Ordinal) && r.Contains($"\t{raName}\tCN=demo-device-1\tserial ", StringComparison.Ordinal)),
                string.Join('\n', rows));

            // Re-enroll through A with the certificate B issued.
            (_, string renewCsr) = await EstTools.NewCsrAsync(_scratch, "renew", "/CN=demo-device-1");
            string renewed = await PostAsync(a, "sren", renewCsr, issued, key, "renewed");
            Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", b.TrustAnchor, "-untrusted", bIssuing, renewed), StringComparison.Ordinal);
            using (X509Certificate2 first = X509Certificate2.CreateFromPem(await System.IO.File.ReadAllTextAsync(issued)))
            {
                Assert.Contains(await ListAsync("issued", bData), r => r.Contains($"\t{raName}\tCN=demo-device-1\tserial ", StringComparison.Ordinal)
                    && !r.EndsWith(first.SerialNumber, StringComparison.Ordinal));
            }

            // Server-side key generation through A: multipart-core [284 key, 281 certificate].
            (_, string skgCsr) = await EstTools.NewCsrAsync(_scratch, "skg", "/CN=demo-device-1");
            string skgOut = File("skg.cbor");
            ProcessResult skg = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-f", skgCsr, "-c", device, "-j", deviceKey, "-R", a.TrustAnchor,
                "-o", skgOut, a.Uri("/.well-known/est/skg"));
            Assert.True(skg.ExitCode == 0 && System.IO.File.Exists(skgOut), $"{skg.Describe()}{Environment.NewLine}{a.Output}");
            var parts = EstTools.DecodeMultipartCore(await System.IO.File.ReadAllBytesAsync(skgOut));
            Assert.Equal([284, 281], parts.Select(p => p.ContentFormat));
            using (ECDsa generated = ECDsa.Create())
            {
                generated.ImportPkcs8PrivateKey(parts[0].Data, out _);
                var certificates = new System.Security.Cryptography.Pkcs.SignedCms();
                certificates.Decode(parts[1].Data);
                Assert.Equal(generated.ExportSubjectPublicKeyInfo(), certificates.Certificates[0].PublicKey.ExportSubjectPublicKeyInfo());
            }

            // Approval on B: 5.03 with Max-Age on A until the operator approves, then the repeated request gets the certificate.
            (_, string manualCsr) = await EstTools.NewCsrAsync(_scratch, "manual", "/CN=demo-device-1");
            ProcessResult waiting = await EstTools.CoapClientAsync("openssl", "-v", "7", "-m", "post", "-t", "286", "-f", manualCsr, "-c", device, "-j", deviceKey,
                "-R", a.TrustAnchor, a.Uri("/.well-known/est/manual/sen"));
            string said = waiting.StandardOutput + waiting.StandardError;
            Assert.True(said.Contains("5.03", StringComparison.Ordinal) && said.Contains("retry after 2 s", StringComparison.Ordinal), $"{waiting.Describe()}{Environment.NewLine}{a.Output}");
            string pending = Assert.Single(await ListAsync("pending", bData));
            Assert.Contains($"\t{raName}\tCN=demo-device-1", pending, StringComparison.Ordinal);
            await CliAssert.SucceedsAsync(["requests", "approve", pending.Split('\t')[0], .. bData, "--Ca:Profiles:manual:RequiresApproval=true"]);
            string approved = await PostAsync(a, "manual/sen", manualCsr, device, deviceKey, "approved");
            Assert.Contains(": OK", await EstTools.OpenSslAsync("verify", "-CAfile", b.TrustAnchor, "-untrusted", bIssuing, approved), StringComparison.Ordinal);

            // B goes away: A answers 5.03 with Max-Age at once and logs it; when B returns, A serves again.
            await b.DisposeAsync();
            b = null;
            var clock = Stopwatch.StartNew();
            ProcessResult down = await EstTools.CoapClientAsync("openssl", "-m", "get", "-c", device, "-j", deviceKey, "-R", a.TrustAnchor, a.Uri("/.well-known/est/crts"));
            string downSaid = down.StandardOutput + down.StandardError;
            Assert.True(downSaid.Contains("5.03", StringComparison.Ordinal) && downSaid.Contains("retry after 4 s", StringComparison.Ordinal), down.Describe());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), clock.Elapsed.ToString());
            await WaitForAsync(a, $"upstream https://127.0.0.1:{httpsPort}/.well-known/est unreachable");

            b = await ServeProcess.StartAsync(bDirectory, bArguments);
            await b.WaitForHttpsPortAsync();
            string crts = File("crts.p7");
            ProcessResult back = await EstTools.CoapClientAsync("openssl", "-m", "get", "-c", device, "-j", deviceKey, "-R", a.TrustAnchor, "-o", crts, a.Uri("/.well-known/est/crts"));
            Assert.True(back.ExitCode == 0 && new FileInfo(crts).Length > 0, $"{back.Describe()}{Environment.NewLine}{a.Output}");
            Assert.Contains("CoapEnroll Demo Root CA", await EstTools.OpenSslAsync("pkcs7", "-inform", "DER", "-in", crts, "-print_certs", "-noout"), StringComparison.Ordinal);
        }
        finally
        {
            if (b is not null)
            {
                await b.DisposeAsync();
            }
        }
    }

    // POST a CSR to A's /.well-known/est/PATH with a client certificate; the certs-only answer as PEM in NAME.pem.
    private async Task<string> PostAsync(ServeProcess a, string path, string csr, string certificate, string key, string name)
    {
        string output = File(name + ".p7"), pem = File(name + ".pem");
        ProcessResult result = await EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-f", csr, "-c", certificate, "-j", key, "-R", a.TrustAnchor,
            "-o", output, a.Uri("/.well-known/est/" + path));
        Assert.True(result.ExitCode == 0 && System.IO.File.Exists(output) && new FileInfo(output).Length > 0, $"{result.Describe()}{Environment.NewLine}{a.Output}");
        await EstTools.OpenSslAsync("pkcs7", "-inform", "DER", "-in", output, "-print_certs", "-out", pem);
        return pem;
    }

    private static async Task<string[]> ListAsync(string status, string[] data)
    {
        CliResult list = await CliAssert.SucceedsAsync(["requests", "list", "--status", status, .. data]);
        return [.. list.Output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && char.IsAsciiDigit(l[0]))];
    }

    private static async Task WaitForAsync(ServeProcess server, string text)
    {
        for (int i = 0; i < 50 && !server.Output.Contains(text, StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(server.Output.Contains(text, StringComparison.Ordinal), server.Output);
    }

    private string File(string name) => Path.Combine(_scratch, name);
}
