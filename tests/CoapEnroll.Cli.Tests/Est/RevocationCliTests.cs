using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// <c>coapenroll requests revoke</c> and <c>requests crl</c> next to a running server: the certificate a device enrolled is revoked,
/// the CRL lists it as openssl reads it, openssl's CRL check rejects the certificate, and the server no longer accepts it.
/// </summary>
public sealed class RevocationCliTests : IDisposable
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
    public async Task Revoke_ThenCrl_ListsTheSerialWithItsReason_AndOpenSslRejectsTheCertificate()
    {
        await using var server = await EstServer.StartAsync();
        string[] device = ["--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];
        string cert = File("dev.pem"), key = File("dev.key"), other = File("other.pem"), otherKey = File("other.key"), chain = File("chain.pem"), crl = File("crl.pem");
        string[] data = ["--data", server.DataDirectory];
        await CliAssert.SucceedsAsync(["est", "enroll", .. device, "--subject", "CN=demo-device-1", "--out", cert, "--key-out", key]);
        await CliAssert.SucceedsAsync(["est", "enroll", .. device, "--subject", "CN=demo-device-1", "--out", other, "--key-out", otherKey]);
        using var revoked = X509Certificate2.CreateFromPem(System.IO.File.ReadAllText(cert));
        using var kept = X509Certificate2.CreateFromPem(System.IO.File.ReadAllText(other));
        await System.IO.File.WriteAllTextAsync(chain, await System.IO.File.ReadAllTextAsync(server.TrustAnchor) + await System.IO.File.ReadAllTextAsync(server.IssuingCa));

        CliResult revoke = await CliAssert.SucceedsAsync(["requests", "revoke", revoked.SerialNumber.ToLowerInvariant(), "--reason", "keyCompromise", .. data]);
        Assert.Contains($"Revoked certificate {revoked.SerialNumber} (CN=demo-device-1) for keyCompromise", revoke.Output, StringComparison.Ordinal);

        CliResult written = await CliAssert.SucceedsAsync(["requests", "crl", "--out", crl, .. data]);
        Assert.Contains("1 revoked", written.Output, StringComparison.Ordinal);
        Assert.StartsWith("-----BEGIN X509 CRL-----", await System.IO.File.ReadAllTextAsync(crl), StringComparison.Ordinal);

        ProcessResult text = await OpenSslAsync("crl", "-in", crl, "-CAfile", chain, "-noout", "-text");
        Assert.True(text.ExitCode == 0, text.Describe());
        string all = text.StandardOutput + text.StandardError;
        Assert.Contains("verify OK", all, StringComparison.Ordinal);
        Assert.Contains($"Serial Number: {revoked.SerialNumber}", all, StringComparison.Ordinal);
        Assert.Contains("Key Compromise", all, StringComparison.Ordinal);
        Assert.DoesNotContain(kept.SerialNumber, all, StringComparison.Ordinal);

        ProcessResult refused = await OpenSslAsync("verify", "-crl_check", "-CRLfile", crl, "-CAfile", chain, cert);
        Assert.True(refused.ExitCode != 0 && (refused.StandardOutput + refused.StandardError).Contains("certificate revoked", StringComparison.Ordinal), refused.Describe());
        ProcessResult accepted = await OpenSslAsync("verify", "-crl_check", "-CRLfile", crl, "-CAfile", chain, other);
        Assert.True(accepted.ExitCode == 0, accepted.Describe());

        // The running server read the revocation from the store: the revoked certificate no longer authenticates.
        CliResult reenroll = await CliRunner.RunAsync(["est", "reenroll", "--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", cert, "--key", key,
            "--out", File("renewed.pem"), "--key-out", File("renewed.key")]);
        Assert.True(reenroll.ExitCode == ExitCodes.ClientError, reenroll.Describe());

        // DER by extension; PEM on stdout by default.
        await CliAssert.SucceedsAsync(["requests", "crl", "--out", File("crl.der"), .. data]);
        ProcessResult der = await OpenSslAsync("crl", "-inform", "DER", "-in", File("crl.der"), "-CAfile", chain, "-noout");
        Assert.True(der.ExitCode == 0 && (der.StandardOutput + der.StandardError).Contains("verify OK", StringComparison.Ordinal), der.Describe());
        CliResult stdout = await CliAssert.SucceedsAsync(["requests", "crl", .. data]);
        Assert.StartsWith("-----BEGIN X509 CRL-----", stdout.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_Twice_UnknownSerial_AndBadInput_AreOneLineErrorsWithExitCodes()
    {
        await using var server = await EstServer.StartAsync();
        string[] device = ["--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];
        string[] data = ["--data", server.DataDirectory];
        await CliAssert.SucceedsAsync(["est", "enroll", .. device, "--subject", "CN=demo-device-1", "--out", File("dev.pem"), "--key-out", File("dev.key")]);
        using var issued = X509Certificate2.CreateFromPem(System.IO.File.ReadAllText(File("dev.pem")));

        await CliAssert.SucceedsAsync(["requests", "revoke", issued.SerialNumber, "--reason", "5", .. data]);
        await CliAssert.FailsAsync(ExitCodes.Failure, [$"Certificate {issued.SerialNumber} is already revoked", "for cessationOfOperation", "nothing changed"],
            ["requests", "revoke", issued.SerialNumber, "--reason", "keyCompromise", .. data]);
        await CliAssert.FailsAsync(ExitCodes.Usage, ["No certificate with serial 0123456789ABCDEF"], ["requests", "revoke", "01:23:45:67:89:ab:cd:ef", .. data]);
        await CliAssert.FailsAsync(ExitCodes.Usage, ["SERIAL 'xyz' is not a serial number"], ["requests", "revoke", "xyz", .. data]);
        await CliAssert.FailsAsync(ExitCodes.Usage, ["--reason 'removeFromCRL'", "CRLReason"], ["requests", "revoke", issued.SerialNumber, "--reason", "removeFromCRL", .. data]);
        await CliAssert.FailsAsync(ExitCodes.Usage, ["--reason '7'"], ["requests", "revoke", issued.SerialNumber, "--reason", "7", .. data]);
        await CliAssert.FailsAsync(ExitCodes.Usage, ["No certificate store"], ["requests", "crl", "--data", File("nothing-here")]);
    }

    private string File(string name) => Path.Combine(_scratch, name);

    private static Task<ProcessResult> OpenSslAsync(params string[] arguments) =>
        ExternalProcess.RunAsync(RequiredTool.Find("openssl", "openssl"), arguments, EstTools.Timeout);
}
