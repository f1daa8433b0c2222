using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cli.Tests.Interop;
using CoapEnroll.Cmp;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// CA key update announcements (ckuann, RFC 9810 §5.3.13) over CoAP Observe (RFC 9482 §2.5): libcoap observes
/// <c>/.well-known/cmp</c> on coap:// and on coaps:// while the operator runs <c>coapenroll ca rollover</c> in another process;
/// the running server finds the update and notifies a signed cAKeyUpdAnnV3 (pvno 3) with the three certificates the rollover wrote.
/// </summary>
[Trait("Needs", "libcoap")]
public sealed class CmpKeyUpdateAnnouncementInteropTests
{
    [Fact]
    [Trait("Needs", "observe")]
    public async Task Observer_OnCoap_ReceivesTheCaKeyUpdateAnnouncement_OfARolloverWhileTheServerRuns()
    {
        await using var server = await StartAsync();
        string output = Path.Combine(server.DataDirectory, "announcements.der");
        Task<ProcessResult> observing = LibCoap.RunClientAsync(30, "-m", "get", "-s", "8", "-o", output, $"coap://127.0.0.1:{server.CoapPort}/.well-known/cmp");
        await RollOverAndCheckAsync(server, observing, output);
    }

    [Fact]
    [Trait("Needs", "observe")]
    [Trait("Needs", "dtls")]
    public async Task Observer_OnCoaps_ReceivesTheCaKeyUpdateAnnouncement_OfARolloverWhileTheServerRuns()
    {
        await using var server = await StartAsync();
        string output = Path.Combine(server.DataDirectory, "announcements.der");
        Task<ProcessResult> observing = LibCoap.RunDtlsClientAsync("openssl", 30, "-m", "get", "-s", "8", "-o", output,
            "-c", server.DemoCertificate, "-j", server.DemoKey, "-R", server.TrustAnchor, $"coaps://127.0.0.1:{server.CoapsPort}/.well-known/cmp");
        await RollOverAndCheckAsync(server, observing, output);
    }

    private static Task<CmpServerHost> StartAsync() =>
        CmpServerHost.StartAsync(new Dictionary<string, string?> { ["Cmp:AnnouncementInterval"] = "00:00:00.500" });

    private static async Task RollOverAndCheckAsync(CmpServerHost server, Task<ProcessResult> observing, string output)
    {
        await Task.Delay(TimeSpan.FromSeconds(2));
        await CliAssert.SucceedsAsync(["ca", "rollover", "--data", server.DataDirectory]);
        ProcessResult result = await observing;
        Assert.True(File.Exists(output), result.Describe());
        List<PkiMessage> messages = ReadMessages(await File.ReadAllBytesAsync(output));

        // The registration answer is the CRL announcement; the notification after the rollover is the ckuann.
        string describe = $"{messages.Count} message(s): {string.Join(", ", messages.Select(m => m.Body.BodyType))}{Environment.NewLine}{result.Describe()}";
        PkiMessage last = messages.Count > 0 ? messages[^1] : throw new Xunit.Sdk.XunitException(describe);
        CkuAnnBody ckuann = Assert.IsType<CkuAnnBody>(last.Body);
        Assert.True(ckuann.IsV3, describe);
        Assert.Equal(3, last.Header.Pvno);
        using X509Certificate2 signer = X509CertificateLoader.LoadCertificate(last.ExtraCerts![0].Span);
        CmpProtectionResult verified = CmpProtection.VerifySignature(last, signer);
        Assert.True(verified.IsValid, verified.Detail);
        using X509Certificate2 issuing = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(server.IssuingCa));
        Assert.Equal(issuing.SubjectName.RawData, signer.IssuerName.RawData);

        string ca = Path.Combine(server.DataDirectory, "ca");
        Assert.Equal(Der(Path.Combine(ca, "new-with-new.pem")), ckuann.NewWithNew.ToArray());
        Assert.Equal(Der(Path.Combine(ca, "new-with-old.pem")), ckuann.NewWithOld!.Value.ToArray());
        Assert.Equal(Der(Path.Combine(ca, "old-with-new.pem")), ckuann.OldWithNew!.Value.ToArray());
    }

    private static byte[] Der(string pemFile) => X509Certificate2.CreateFromPem(File.ReadAllText(pemFile)).RawData;

    /// <summary>The DER PKIMessages one after another in <paramref name="bytes"/>.</summary>
    private static List<PkiMessage> ReadMessages(byte[] bytes)
    {
        var messages = new List<PkiMessage>();
        var reader = new AsnReader(bytes, AsnEncodingRules.DER);
        while (reader.HasData)
        {
            ReadOnlyMemory<byte> der = reader.ReadEncodedValue();
            CmpDecodeResult decoded = PkiMessageCodec.Decode(der.Span);
            messages.Add(decoded.Message ?? throw new InvalidOperationException($"not a PKIMessage: {decoded.Reason}"));
        }

        return messages;
    }
}
