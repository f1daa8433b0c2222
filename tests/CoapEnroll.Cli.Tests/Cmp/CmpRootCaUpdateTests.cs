using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cmp;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// Root CA key rollover (RFC 9810 §4.4): <c>coapenroll ca rollover</c> writes newWithNew and the link certificates, which
/// <c>openssl verify</c> accepts across the two roots; a server started on the data directory answers <c>openssl cmp -cmd genm
/// -infotype rootCaCert</c> with RootCaKeyUpdateContent (RFC 9483 §4.3.2). OpenSSL 3.0 has no name for id-it-rootCaCert (3.2 added
/// it and -oldwithold/-newwithnew/…), so the tests give it one through an OpenSSL configuration oid_section, keep the genp with
/// -rspout and check its certificates with openssl verify.
/// </summary>
[Trait("Needs", "openssl")]
public sealed class CmpRootCaUpdateTests : CmpTestBase
{
    [Fact]
    public async Task OurClient_GenmRootCaCert_WithTheOldRoot_GetsTheUpdate_WithTheNewOrAForeignRoot_GetsNone()
    {
        // Announcements on (the default): the running server adopts the rollover at its next check, every 0.5 s here.
        await using var server = await CmpServerHost.StartAsync(new Dictionary<string, string?> { ["Cmp:AnnouncementInterval"] = "00:00:00.500" });
        await CliAssert.SucceedsAsync(["ca", "rollover", "--data", server.DataDirectory]);
        string nwn = Path.Combine(server.DataDirectory, "ca", "new-with-new.pem");
        Environment.SetEnvironmentVariable(SecretVariable, CmpServerHost.Dev1Secret);
        string[] genm = ["cmp", "genm", "--server", $"http://127.0.0.1:{server.HttpPort}/.well-known/cmp", "--ref", "dev-1", "--secret-env", SecretVariable,
            "--infotype", "rootCaCert"];

        string text = "";
        for (int i = 0; i < 40 && !text.Contains("newWithNew", StringComparison.Ordinal); i++)
        {
            await Task.Delay(250);
            text = (await CliAssert.SucceedsAsync([.. genm, "--oldwithold", server.TrustAnchor])).Output;
        }

        // Three CERTIFICATE blocks, newWithNew first: openssl reads the new root from the output and verifies the old chain under it.
        Assert.Contains("rootCaKeyUpdate newWithNew", text, StringComparison.Ordinal);
        await System.IO.File.WriteAllTextAsync(OpenSsl.File("update.pem"), text);
        Assert.Equal(OpenSslCmp.Load(nwn).RawData, OpenSslCmp.Load(OpenSsl.File("update.pem")).RawData);
        await OpenSsl.MustAsync("x509", "-in", OpenSsl.File("update.pem"), "-out", OpenSsl.File("new-root.pem"));
        await MustVerifyAsync("-CAfile", OpenSsl.File("new-root.pem"), "-untrusted", OpenSsl.File("update.pem"), server.IssuingCa);

        // Without a RootCaCertValue: the same update (the server has one root to replace).
        Assert.Contains("rootCaKeyUpdate newWithNew", (await CliAssert.SucceedsAsync(genm)).Output, StringComparison.Ordinal);
        // A client that has the new root already, or names a root that is not this CA's: no update (absent value).
        Assert.Contains("rootCaKeyUpdate: (none)", (await CliAssert.SucceedsAsync([.. genm, "--oldwithold", nwn])).Output, StringComparison.Ordinal);
        Assert.Contains("rootCaKeyUpdate: (none)", (await CliAssert.SucceedsAsync([.. genm, "--oldwithold", server.IssuingCa])).Output, StringComparison.Ordinal);
        // --oldwithold belongs to rootCaCert.
        CliResult misuse = await CliRunner.RunAsync(["cmp", "genm", "--server", $"http://127.0.0.1:{server.HttpPort}/.well-known/cmp", "--ref", "dev-1",
            "--secret-env", SecretVariable, "--infotype", "caCerts", "--oldwithold", nwn]);
        Assert.True(misuse.ExitCode == ExitCodes.Usage && misuse.Error.Contains("--oldwithold goes with --infotype rootCaCert", StringComparison.Ordinal), misuse.Describe());
    }

    [Fact]
    public async Task Rollover_WritesLinkCertificates_ThatOpenSslVerifiesAcrossBothRoots_AndIsAudited()
    {
        await using var server = await CmpServerHost.StartAsync();
        string dir = server.DataDirectory;
        CliResult rolled = await CliAssert.SucceedsAsync(["ca", "rollover", "--data", dir]);
        Assert.Contains("New root CA", rolled.Output, StringComparison.Ordinal);
        string nwn = Path.Combine(dir, "ca", "new-with-new.pem"), nwo = Path.Combine(dir, "ca", "new-with-old.pem"), own = Path.Combine(dir, "ca", "old-with-new.pem");

        // An old-trusting client: newWithOld verifies under the old root, and carries the new root's name and key.
        await MustVerifyAsync("-CAfile", server.TrustAnchor, nwo);
        using X509Certificate2 newRoot = OpenSslCmp.Load(nwn), link = OpenSslCmp.Load(nwo), oldRoot = OpenSslCmp.Load(server.TrustAnchor);
        Assert.Equal(newRoot.SubjectName.RawData, link.SubjectName.RawData);
        Assert.Equal(newRoot.PublicKey.ExportSubjectPublicKeyInfo(), link.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.NotEqual(oldRoot.PublicKey.ExportSubjectPublicKeyInfo(), newRoot.PublicKey.ExportSubjectPublicKeyInfo());
        // ... so what the new key signs (here oldWithNew) verifies for it through newWithOld.
        await MustVerifyAsync("-CAfile", server.TrustAnchor, "-untrusted", nwo, own);

        // A new-trusting client: the issuing CA (signed with the old key) and a certificate it issues verify through oldWithNew.
        await MustVerifyAsync("-CAfile", nwn, "-untrusted", own, server.IssuingCa);
        string key = await OpenSsl.NewKeyAsync("k.pem");
        await OpenSsl.MustAsync("cmp", "-cmd", "ir", "-server", server.HttpServer(), "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret,
            "-newkey", key, "-subject", "/CN=dev-1", "-implicit_confirm", "-certout", OpenSsl.File("c.pem"));
        await System.IO.File.WriteAllTextAsync(OpenSsl.File("chain.pem"),
            await System.IO.File.ReadAllTextAsync(own) + await System.IO.File.ReadAllTextAsync(server.IssuingCa));
        await MustVerifyAsync("-CAfile", nwn, "-untrusted", OpenSsl.File("chain.pem"), OpenSsl.File("c.pem"));
        // Without the link certificate it does not: the new root alone does not vouch for the old key.
        ProcessResult unlinked = await OpenSsl.RunAsync("verify", "-CAfile", nwn, "-untrusted", server.IssuingCa, OpenSsl.File("c.pem"));
        Assert.NotEqual(0, unlinked.ExitCode);

        IReadOnlyList<AuditEntry> audit = await server.Certification.Store.ListAuditAsync(100, CancellationToken.None);
        AuditEntry entry = Assert.Single(audit, a => a.Action == "root-rollover");
        Assert.Contains(newRoot.SerialNumber, entry.Details, StringComparison.Ordinal);
        Assert.StartsWith("operator:", entry.Actor, StringComparison.Ordinal);

        // One rollover at a time: the files of the first are not overwritten.
        byte[] before = await System.IO.File.ReadAllBytesAsync(nwn);
        CliResult again = await CliRunner.RunAsync(["ca", "rollover", "--data", dir]);
        Assert.True(again.ExitCode == ExitCodes.Failure && again.Error.Contains("exists already", StringComparison.Ordinal), again.Describe());
        Assert.Equal(before, await System.IO.File.ReadAllBytesAsync(nwn));
    }

    [Fact]
    public async Task GenmRootCaCert_FromOpenSslCmp_GetsTheUpdate_AfterARestart_AndNoUpdateBefore_WithoutAnnouncements()
    {
        // Without announcements nothing looks for a rollover while the server runs (with them, CmpKeyUpdateAnnouncementInteropTests).
        await using var first = await CmpServerHost.StartAsync(new Dictionary<string, string?> { ["Cmp:Announcements"] = "false" });
        string dir = first.DataDirectory;
        await CliAssert.SucceedsAsync(["ca", "rollover", "--data", dir]);

        // The running server loaded its hierarchy at start: no update yet.
        await GenmRootCaCertAsync(first, first.DemoSecret, "none.der");
        Assert.Null(RootCaKeyUpdateValue(await System.IO.File.ReadAllBytesAsync(OpenSsl.File("none.der"))));

        // A second server on the same data directory (its own ports; the first one's directory, whose paths `first` knows).
        await using var second = await CmpServerHost.StartAsync(new Dictionary<string, string?> { ["DataDirectory"] = dir });
        ProcessResult genm = await GenmRootCaCertAsync(second, first.DemoSecret, "genp.der");
        Assert.Contains("rootCaKeyUpdate", genm.StandardOutput + genm.StandardError, StringComparison.Ordinal);
        ReadOnlyMemory<byte> value = RootCaKeyUpdateValue(await System.IO.File.ReadAllBytesAsync(OpenSsl.File("genp.der")))
            ?? throw new Xunit.Sdk.XunitException("the genp has no rootCaKeyUpdate value");

        // RootCaKeyUpdateContent ::= SEQUENCE { newWithNew, [0] EXPLICIT newWithOld, [1] EXPLICIT oldWithNew }
        var content = new AsnReader(value, AsnEncodingRules.DER).ReadSequence();
        byte[] newWithNew = content.ReadEncodedValue().ToArray();
        byte[] newWithOld = content.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0)).ReadEncodedValue().ToArray();
        byte[] oldWithNew = content.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 1)).ReadEncodedValue().ToArray();
        Assert.False(content.HasData);
        Assert.Equal(OpenSslCmp.Load(Path.Combine(dir, "ca", "new-with-new.pem")).RawData, newWithNew);
        Assert.Equal(OpenSslCmp.Load(Path.Combine(dir, "ca", "new-with-old.pem")).RawData, newWithOld);
        Assert.Equal(OpenSslCmp.Load(Path.Combine(dir, "ca", "old-with-new.pem")).RawData, oldWithNew);

        // What the device received verifies as RFC 9810 §4.4 says: newWithOld under the old root, the old chain under newWithNew.
        string nwn = WritePem("nwn.pem", newWithNew), nwo = WritePem("nwo.pem", newWithOld), own = WritePem("own.pem", oldWithNew);
        await MustVerifyAsync("-CAfile", first.TrustAnchor, nwo);
        await MustVerifyAsync("-CAfile", nwn, "-untrusted", own, first.IssuingCa);
    }

    private async Task<ProcessResult> GenmRootCaCertAsync(CmpServerHost server, string demoSecret, string responseFile)
    {
        string config = OpenSsl.File("oids.cnf");
        await System.IO.File.WriteAllTextAsync(config,
            "openssl_conf = openssl_init\n[openssl_init]\noid_section = cmp_oids\n[cmp_oids]\nid-it-rootCaCert = 1.3.6.1.5.5.7.4.20\nid-it-rootCaKeyUpdate = 1.3.6.1.5.5.7.4.18\n");
        ProcessResult result = await ExternalProcess.RunAsync(RequiredTool.Find("openssl", "openssl"),
            ["cmp", "-config", "", "-cmd", "genm", "-infotype", "rootCaCert", "-server", server.HttpServer(), "-ref", "demo", "-secret", "pass:" + demoSecret,
                "-rspout", OpenSsl.File(responseFile)],
            TimeSpan.FromSeconds(90), environment: new Dictionary<string, string> { ["OPENSSL_CONF"] = config });
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    /// <summary>The value of the genp's id-it-rootCaKeyUpdate (asserted present as an infoType), null when absent ("no update").</summary>
    private static ReadOnlyMemory<byte>? RootCaKeyUpdateValue(byte[] der)
    {
        CmpDecodeResult decoded = PkiMessageCodec.Decode(der);
        Assert.True(decoded.IsSuccess, decoded.Reason);
        var genp = Assert.IsType<GenMsgBody>(decoded.Message!.Body);
        Assert.Equal(PkiBodyType.Genp, genp.BodyType);
        return Assert.Single(genp.Items, i => i.InfoType == CmpInfoTypes.RootCaKeyUpdate).Value;
    }

    private string WritePem(string name, byte[] der)
    {
        string path = OpenSsl.File(name);
        System.IO.File.WriteAllText(path, PemEncoding.WriteString("CERTIFICATE", der));
        return path;
    }

    private async Task MustVerifyAsync(params string[] arguments)
    {
        ProcessResult result = await OpenSsl.RunAsync(["verify", .. arguments]);
        Assert.True(result.ExitCode == 0 && result.StandardOutput.Contains(": OK", StringComparison.Ordinal), result.Describe());
    }
}
