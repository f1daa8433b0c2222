using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary><c>coapenroll est serverkeygen</c> asking for the key encrypted (280): to an EC certificate, or under a shared symmetric key.</summary>
public sealed class EncryptedServerKeyGenCliTests : IDisposable
{
    private const string KekId = "C0FFEE01";
    private readonly string _scratch = EstTools.Scratch();
    private readonly string _variable = "COAPENROLL_TEST_KEK_" + Guid.NewGuid().ToString("N");
    private readonly byte[] _kek = RandomNumberGenerator.GetBytes(32);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_variable, null);
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task ServerKeyGen_EncryptedToAKeyAgreementCertificate_AndUnderASymmetricKey()
    {
        await using var server = await EstServer.StartAsync(new Dictionary<string, string?>
        {
            ["Ca:Profiles:kex:KeyUsage:0"] = "KeyAgreement",
            ["Est:KeyEncryptionKeys:" + KekId] = Convert.ToBase64String(_kek),
        });
        string[] device = ["--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];

        // The device obtains a key agreement certificate with its own subject (so the server finds it as a recipient).
        string subject = (await EstTools.OpenSslAsync("x509", "-in", server.DemoCertificate, "-noout", "-subject", "-nameopt", "RFC2253")).Trim()["subject=".Length..];
        await CliAssert.SucceedsAsync(["est", "enroll", "--server", server.Uri("/kex"), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey,
            "--subject", subject, "--out", File("kex.pem"), "--key-out", File("kex.key")]);

        CliResult ec = await CliAssert.SucceedsAsync(["est", "serverkeygen", .. device, "--subject", "CN=demo-device-1", "--encrypt-cert", File("kex.pem"),
            "--encrypt-key", File("kex.key"), "--out", File("ec.pem"), "--key-out", File("ec.key"), "--block-size", "64"]);
        Assert.Contains("delivered encrypted", ec.Output);
        using (var issued = X509Certificate2.CreateFromPemFile(File("ec.pem"), File("ec.key")))
        {
            Assert.Equal("CN=demo-device-1", issued.Subject);
        }

        Environment.SetEnvironmentVariable(_variable, Convert.ToBase64String(_kek));
        CliResult symmetric = await CliAssert.SucceedsAsync(["est", "serverkeygen", .. device, "--subject", "CN=demo-device-1", "--kek-id", KekId, "--kek-env", _variable,
            "--accept", "287", "--out", File("kek.pem"), "--key-out", File("kek.key")]);
        Assert.Contains("delivered encrypted", symmetric.Output);
        using (var issued = X509Certificate2.CreateFromPemFile(File("kek.pem"), File("kek.key")))
        {
            Assert.Equal("CN=demo-device-1", issued.Subject);
        }

        Assert.Equal(3, await server.CertificateCountAsync());
    }

    [Fact]
    public async Task EncryptionRefusals_AndBadInput_AreOneLine()
    {
        await using var server = await EstServer.StartAsync(new Dictionary<string, string?> { ["Est:KeyEncryptionKeys:" + KekId] = Convert.ToBase64String(_kek) });
        string[] device = ["--server", server.Uri(), "--trust", server.TrustAnchor, "--cert", server.DemoCertificate, "--key", server.DemoKey];
        string[] skg = ["est", "serverkeygen", .. device, "--subject", "CN=demo-device-1", "--key-out", File("x.key")];

        await CliAssert.FailsAsync(2, ["--encrypt-cert and --encrypt-key"], [.. skg, "--encrypt-cert", server.DemoCertificate]);
        await CliAssert.FailsAsync(2, ["--kek-id and --kek-env"], [.. skg, "--kek-id", KekId]);
        await CliAssert.FailsAsync(2, ["exclude each other"], [.. skg, "--encrypt-cert", server.DemoCertificate, "--encrypt-key", server.DemoKey, "--kek-id", KekId, "--kek-env", _variable]);
        await CliAssert.FailsAsync(2, ["--kek-id 'xyz'", "hexadecimal"], [.. skg, "--kek-id", "xyz", "--kek-env", _variable]);
        await CliAssert.FailsAsync(2, [_variable, "not set"], [.. skg, "--kek-id", KekId, "--kek-env", _variable]);
        Environment.SetEnvironmentVariable(_variable, "***");
        await CliAssert.FailsAsync(2, [_variable, "base64"], [.. skg, "--kek-id", KekId, "--kek-env", _variable]);
        Environment.SetEnvironmentVariable(_variable, Convert.ToBase64String(new byte[20]));
        await CliAssert.FailsAsync(2, [_variable, "16, 24 or 32"], [.. skg, "--kek-id", KekId, "--kek-env", _variable]);

        // A key that is not the certificate's.
        using (ECDsa other = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            await System.IO.File.WriteAllTextAsync(File("other.key"), other.ExportPkcs8PrivateKeyPem());
        }

        await CliAssert.FailsAsync(2, ["is not the key of --encrypt-cert"], [.. skg, "--encrypt-cert", server.DemoCertificate, "--encrypt-key", File("other.key")]);

        // The server's refusals: the IDevID's key usage (digitalSignature) does not allow keyAgreement; an unknown key identifier.
        await CliAssert.FailsAsync(4, ["4.00", "keyAgreement"], [.. skg, "--encrypt-cert", server.DemoCertificate, "--encrypt-key", server.DemoKey]);
        Environment.SetEnvironmentVariable(_variable, Convert.ToBase64String(_kek));
        await CliAssert.FailsAsync(4, ["4.00", "DecryptKeyIdentifier"], [.. skg, "--kek-id", "0BAD", "--kek-env", _variable]);
        Assert.Equal(0, await server.CertificateCountAsync());

        // The right identifier with the wrong key: issued, but the client cannot open it and says so (no key file is written).
        byte[] wrong = (byte[])_kek.Clone();
        wrong[0] ^= 1;
        Environment.SetEnvironmentVariable(_variable, Convert.ToBase64String(wrong));
        await CliAssert.FailsAsync(1, ["encrypted key (280) is unusable", "--kek-env"], [.. skg, "--kek-id", KekId, "--kek-env", _variable]);
        Assert.False(System.IO.File.Exists(File("x.key")));
    }

    private string File(string name) => Path.Combine(_scratch, name);
}
