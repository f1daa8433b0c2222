using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cli.Tests.Interop;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// CMP over CoAP and CoAPS (RFC 9482) with libcoap's clients on the wire: <c>openssl cmp</c> makes and checks the messages, a
/// relay hands each to <c>coap-client-*</c> (see <see cref="CoapCmpRelay"/>).
/// </summary>
[Trait("Needs", "libcoap")]
public sealed class CmpCoapInteropTests : CmpTestBase
{
    public static TheoryData<string> Flavours => new() { "notls", "openssl", "gnutls" };

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Ir_WithMac_AndCertConf_OverCoap(string flavour)
    {
        await using var server = await CmpServerHost.StartAsync();
        string uri = flavour == "notls"
            ? $"coap://127.0.0.1:{server.CoapPort}/.well-known/cmp/ir"
            : $"coaps://127.0.0.1:{server.CoapsPort}/.well-known/cmp/ir";
        string[] psk = flavour == "notls" ? [] : ["-u", CmpServerHost.PskIdentity, "-k", CmpServerHost.PskText];
        await using var relay = new CoapCmpRelay(flavour, uri, OpenSsl.WorkingDirectory, psk);
        string key = await OpenSsl.NewKeyAsync("k.pem");

        ProcessResult ir = await OpenSsl.RunAsync("cmp", "-cmd", "ir", "-server", relay.Server, "-ref", "dev-1", "-secret", "pass:" + CmpServerHost.Dev1Secret,
            "-newkey", key, "-subject", "/CN=dev-1", "-certout", OpenSsl.File("c.pem"));
        Assert.True(ir.ExitCode == 0, ir.Describe() + relay.Log);
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));

        // ir then certConf, each answered 2.04 (RFC 9482 §2.3).
        Assert.Equal(["2.04", "2.04"], relay.Codes);
        StoredCertificate stored = Assert.Single(await server.CertificatesAsync());
        StoredRequest? request = await server.Certification.Store.GetRequestAsync(stored.RequestId, CancellationToken.None);
        Assert.Equal(flavour == "notls" ? "cmp-coap" : "cmp-coaps", request!.Protocol);
    }

    [Fact]
    public async Task SignedIr_LargerThanOneBlock_OverCoap()
    {
        await using var server = await CmpServerHost.StartAsync();
        await using var relay = new CoapCmpRelay("notls", $"coap://127.0.0.1:{server.CoapPort}/.well-known/cmp", OpenSsl.WorkingDirectory);
        using var idevid = OpenSslCmp.Load(server.DemoCertificate);
        string subject = "/" + idevid.SubjectName.Format(false).Replace(", ", "/", StringComparison.Ordinal);
        string key = await OpenSsl.NewKeyAsync("k.pem");

        ProcessResult ir = await OpenSsl.RunAsync("cmp", "-cmd", "ir", "-server", relay.Server, "-trusted", server.TrustAnchor, "-cert", server.DemoCertificate,
            "-key", server.DemoKey, "-newkey", key, "-subject", subject, "-implicit_confirm", "-certout", OpenSsl.File("c.pem"), "-reqout", OpenSsl.File("ir.der"));
        Assert.True(ir.ExitCode == 0, ir.Describe() + relay.Log);
        Assert.True(new FileInfo(OpenSsl.File("ir.der")).Length > 512, "the signed ir should need more than one 512-byte block");
        await OpenSsl.VerifyAsync(server, OpenSsl.File("c.pem"));
    }

    [Fact]
    public async Task Discovery_Junk_AndContentFormat_OverCoap()
    {
        await using var server = await CmpServerHost.StartAsync();
        string root = $"coap://127.0.0.1:{server.CoapPort}";
        ProcessResult discovery = await LibCoap.RunClientAsync(10, "-m", "get", root + "/.well-known/core?rt=ace.cmp");
        Assert.True(discovery.ExitCode == 0 && discovery.StandardOutput.Contains("</.well-known/cmp>", StringComparison.Ordinal)
            && discovery.StandardOutput.Contains("rt=\"ace.cmp\"", StringComparison.Ordinal), discovery.Describe());

        string junk = OpenSsl.File("junk.der");
        await File.WriteAllBytesAsync(junk, [0x30, 0x03, 0x02, 0x01, 0x02]);
        ProcessResult malformed = await LibCoap.RunClientAsync(10, "-v", "5", "-m", "post", "-t", "259", "-f", junk, root + "/.well-known/cmp");
        Assert.True((malformed.StandardOutput + malformed.StandardError).Contains("4.00", StringComparison.Ordinal), malformed.Describe());

        ProcessResult wrongFormat = await LibCoap.RunClientAsync(10, "-v", "5", "-m", "post", "-t", "0", "-f", junk, root + "/.well-known/cmp");
        Assert.True((wrongFormat.StandardOutput + wrongFormat.StandardError).Contains("4.15", StringComparison.Ordinal), wrongFormat.Describe());
    }
}
