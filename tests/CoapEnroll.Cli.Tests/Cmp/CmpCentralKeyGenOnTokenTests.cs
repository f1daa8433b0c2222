using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// Central key generation (RFC 9483 §4.1.6) while the issuing CA key is on a SoftHSM2 token and signs the CMP messages
/// (Cmp:ProtectionKey=Ca, the default there): the generated key is delivered, and its SignedData verifies for the client.
/// </summary>
[Collection(SoftHsmCollection.Name)]
[Trait("Needs", "openssl")]
public sealed class CmpCentralKeyGenOnTokenTests : IDisposable
{
    private readonly OpenSslCmp _openssl = new();
    private readonly string _secretVariable = "COAPENROLL_TEST_CMP_SECRET_" + Guid.NewGuid().ToString("N");

    public CmpCentralKeyGenOnTokenTests() => Environment.SetEnvironmentVariable(_secretVariable, CmpServerHost.Dev1Secret);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_secretVariable, null);
        _openssl.Dispose();
    }

    [Fact]
    public async Task Ir_WithMac_CentralKeyGen_OnToken_DeliversAKeyPair()
    {
        await using CmpServerHost server = await CmpServerHost.StartOnTokenAsync();
        CliResult ir = await CliRunner.RunAsync("cmp", "ir", "--server", $"coap://127.0.0.1:{server.CoapPort}", "--ref", "dev-1",
            "--secret-env", _secretVariable, "--trust", server.TrustAnchor, "--centralkeygen", "--subject", "CN=dev-1",
            "--key-out", _openssl.File("k.pem"), "--out", _openssl.File("c.pem"));
        Assert.True(ir.ExitCode == 0, ir.Describe());
        await _openssl.VerifyAsync(server, _openssl.File("c.pem"));
        ProcessResult fromKey = await _openssl.MustAsync("pkey", "-in", _openssl.File("k.pem"), "-pubout");
        ProcessResult fromCertificate = await _openssl.MustAsync("x509", "-in", _openssl.File("c.pem"), "-noout", "-pubkey");
        Assert.Equal(fromCertificate.StandardOutput.Trim(), fromKey.StandardOutput.Trim());
    }
}
