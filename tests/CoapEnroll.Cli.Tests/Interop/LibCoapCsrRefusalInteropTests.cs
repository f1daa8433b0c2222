using System.Formats.Asn1;
using System.Security.Cryptography;
using CoapEnroll.Cli.Tests.Est;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// Issue 19 §2 end to end: libcoap's <c>coap-client-openssl</c> posts, as the demo device, a CSR with a NUL in its CN and an
/// Ed25519 CSR to the server <c>coapenroll serve</c> runs (started through its command line). Each gets a 4.xx with its reason,
/// nothing is issued, and <c>coapenroll requests list --status rejected</c> shows both, the NUL escaped, not as a space.
/// </summary>
public sealed class LibCoapCsrRefusalInteropTests : IDisposable
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
    public async Task Nul_in_the_CN_and_an_Ed25519_key_are_refused_4xx_and_stored_as_rejected()
    {
        await using CliServer server = await CliServer.StartAsync();

        // The device's own name with a NUL and more after it: what a C string comparison would stop at.
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] nul = new Pkcs10Builder(key)
        {
            Subject = Pkcs10Builder.Name((Pkcs10Builder.CommonName, UniversalTagNumber.UTF8String, "demo-device-1\0.evil"u8.ToArray())),
        }.Build();
        string nulCsr = Path.Combine(_scratch, "nul.csr.der");
        await File.WriteAllBytesAsync(nulCsr, nul);

        string edCsr = Path.Combine(_scratch, "ed25519.csr.der");
        await EstTools.OpenSslAsync("req", "-new", "-newkey", "ed25519", "-nodes", "-keyout", Path.Combine(_scratch, "ed25519.key"), "-subj", "/CN=demo-device-1",
            "-outform", "DER", "-out", edCsr);

        ProcessResult nulResult = await PostAsync(server, nulCsr);
        Assert.True(Says(nulResult, "4.03") && Says(nulResult, "subject attribute CN (2.5.4.3) contains the control character U+0000"), nulResult.Describe());

        ProcessResult edResult = await PostAsync(server, edCsr);
        Assert.True(Says(edResult, "4.00") && Says(edResult, "CSR key: algorithm Ed25519 (1.3.101.112) is not supported"), edResult.Describe());

        CliResult issued = await CliRunner.RunAsync("requests", "list", "--status", "issued", "--data", server.DataDirectory);
        Assert.True(issued.ExitCode == 0 && issued.Output.Trim() == "No issued requests.", issued.Describe());

        CliResult rejected = await CliRunner.RunAsync("requests", "list", "--status", "rejected", "--data", server.DataDirectory);
        Assert.True(rejected.ExitCode == 0, rejected.Describe());
        string[] rows = [.. rejected.Output.Split('\n').Skip(1).Where(l => l.Length > 0)];
        Assert.True(rows.Length == 2, rejected.Describe());
        Assert.False(rejected.Output.Contains('\0'), "a NUL reached the operator's terminal");
        // Newest first: the Ed25519 request, then the NUL.
        Assert.True(rows[0].Contains("\tUnsupportedKeyType: /sen: CSR key: algorithm Ed25519 (1.3.101.112) is not supported", StringComparison.Ordinal), rejected.Describe());
        Assert.True(rows[1].Contains(@"CN=demo-device-1\u{0000}.evil", StringComparison.Ordinal)
            && rows[1].Contains("\tSubjectNotAllowed: /sen: subject attribute CN (2.5.4.3) contains the control character U+0000", StringComparison.Ordinal), rejected.Describe());
    }

    private Task<ProcessResult> PostAsync(CliServer server, string csr) =>
        EstTools.CoapClientAsync("openssl", "-m", "post", "-t", "286", "-f", csr, "-c", server.DemoCertificate, "-j", server.DemoKey, "-R", server.TrustAnchor,
            server.Uri("/.well-known/est/sen"));

    private static bool Says(ProcessResult result, string text) =>
        result.StandardOutput.Contains(text, StringComparison.Ordinal) || result.StandardError.Contains(text, StringComparison.Ordinal);
}
