using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// Central key generation (RFC 9483 §4.1.6) while the issuing CA key is on a SoftHSM2 token and signs the CMP messages
/// (Cmp:ProtectionKey=Ca, the default there): the generated key is delivered, and its SignedData verifies for the client.
/// </summary>
[Collection(SoftHsmCollection.Name)]
[Trait("Needs", "openssl")]
public sealed class CmpCentralKeyGenOnTokenTests : CmpTestBase
{
    public CmpCentralKeyGenOnTokenTests() => Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);

    [Fact]
    public async Task Ir_WithMac_CentralKeyGen_OnToken_DeliversAKeyPair()
    {
        await using CmpServerHost server = await CmpServerHost.StartOnTokenAsync();
        CliResult ir = await CliRunner.RunAsync("cmp", "ir", "--server", $"coap://127.0.0.1:{server.CoapPort}", "--ref", "dev-1",
            "--secret-env", SecretVariable, "--trust", server.TrustAnchor, "--centralkeygen", "--subject", "CN=dev-1",
            "--key-out", OpenSsl.File("k.pem"), "--out", OpenSsl.File("c.pem"));
        Assert.True(ir.ExitCode == 0, ir.Describe());
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
        ProcessResult fromKey = await OpenSsl.MustAsync("pkey", "-in", OpenSsl.File("k.pem"), "-pubout");
        ProcessResult fromCertificate = await OpenSsl.MustAsync("x509", "-in", OpenSsl.File("c.pem"), "-noout", "-pubkey");
        Assert.Equal(fromCertificate.StandardOutput.Trim(), fromKey.StandardOutput.Trim());
    }
}
