using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Cli.Tests.Interop;
using CoapEnroll.Cmp;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// CMP announcements over CoAP Observe (RFC 9482 §2.5, RFC 7641): libcoap's client observes <c>/.well-known/cmp</c> while
/// certificates are revoked, once over CMP (rr) and once by the CA directly, as the operator's CLI would.
/// </summary>
[Trait("Needs", "libcoap")]
public sealed class CmpAnnouncementInteropTests
{
    [Fact]
    [Trait("Needs", "observe")]
    public async Task Observer_ReceivesCrlAnnouncements_ForRrAndForARevocationByTheCa()
    {
        await using var server = await CmpServerHost.StartAsync(new Dictionary<string, string?> { ["Cmp:AnnouncementInterval"] = "00:00:01" });
        CmpServer cmp = await server.GetCmpAsync();
        (X509Certificate2 first, ECDsa firstKey) = await EnrollAsync(cmp, "dev-1", CmpServerHost.Dev1Secret, "CN=dev-1");
        (X509Certificate2 second, ECDsa secondKey) = await EnrollAsync(cmp, "demo", server.DemoSecret, "CN=other-device");
        using (firstKey)
        using (secondKey)
        using (first)
        using (second)
        {
            string output = Path.Combine(server.DataDirectory, "announcements.der");
            Task<ProcessResult> observing = LibCoap.RunClientAsync(30, "-m", "get", "-s", "14", "-o", output,
                $"coap://127.0.0.1:{server.CoapPort}/.well-known/cmp");
            await Task.Delay(TimeSpan.FromSeconds(3));

            // Over CMP: the holder's rr, announced at once.
            using X509Certificate2 holder = first.CopyWithPrivateKey(firstKey);
            PkiMessage rr = CmpProtection.ProtectWithSignature(
                CmpRequests.Revocation(CmpRequests.Header(holder.SubjectName, null, null, CmpRequests.NewId()), holder.IssuerName, holder.SerialNumberBytes.ToArray(), reason: 1),
                holder, []);
            CmpExchangeResult rp = await cmp.HandleAsync(PkiMessageCodec.Encode(rr), Context(), CancellationToken.None);
            Assert.Equal((int)PkiStatus.Accepted, Assert.Single(Assert.IsType<RevRepBody>(PkiMessageCodec.Decode(rp.Response!).Message!.Body).Statuses).Status);
            await Task.Delay(TimeSpan.FromSeconds(4));

            // By the CA, as `coapenroll requests revoke` does from another process: found by the periodic CRL number check.
            Assert.Equal(RevocationStatus.Revoked,
                (await server.Certification.Authority.RevokeAsync(second.SerialNumber, 4, "operator", CancellationToken.None)).Status);

            ProcessResult result = await observing;
            Assert.True(File.Exists(output), result.Describe());
            List<PkiMessage> messages = ReadMessages(await File.ReadAllBytesAsync(output));
            Assert.True(messages.Count > 0, result.Describe());

            // Every notification is a crlann signed by the server's CMP certificate (first in extraCerts).
            var seen = new List<List<string>>();
            foreach (PkiMessage message in messages)
            {
                CrlAnnBody crlann = Assert.IsType<CrlAnnBody>(message.Body);
                using X509Certificate2 signer = X509CertificateLoader.LoadCertificate(message.ExtraCerts![0].Span);
                CmpProtectionResult verified = CmpProtection.VerifySignature(message, signer);
                Assert.True(verified.IsValid, verified.Detail);
                seen.Add(RevokedSerials(crlann.Crls[0]));
            }

            // The last one lists both revocations; libcoap's -o keeps each notification (appended) or only the newest.
            List<string> last = seen[^1];
            string describe = $"{messages.Count} message(s): " + string.Join(" | ", seen.Select(s => string.Join(",", s))) + Environment.NewLine + result.Describe();
            Assert.True(last.Contains(first.SerialNumber, StringComparer.OrdinalIgnoreCase) && last.Contains(second.SerialNumber, StringComparer.OrdinalIgnoreCase), describe);
        }
    }

    private static CmpRequestContext Context() => new() { FrontEnd = "cmp-test", Peer = "test" };

    /// <summary>A certificate for <paramref name="subject"/> over in-process CMP (MAC, implicit confirmation).</summary>
    private static async Task<(X509Certificate2, ECDsa)> EnrollAsync(CmpServer cmp, string reference, string secret, string subject)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PkiHeader header = CmpRequests.Header(new X500DistinguishedName(subject), null, Encoding.UTF8.GetBytes(reference), CmpRequests.NewId(), implicitConfirm: true);
        PkiMessage ir = CmpProtection.ProtectWithMac(CmpRequests.CertificateRequest(PkiBodyType.Ir, header, new X500DistinguishedName(subject), key),
            Encoding.UTF8.GetBytes(secret), CmpMacParameters.PasswordBasedMac(1000));
        CmpExchangeResult result = await cmp.HandleAsync(PkiMessageCodec.Encode(ir), Context(), CancellationToken.None);
        CertRepMessageBody ip = Assert.IsType<CertRepMessageBody>(PkiMessageCodec.Decode(result.Response!).Message!.Body);
        byte[] certificate = Assert.Single(ip.Responses).CertifiedKeyPair?.Certificate?.ToArray()
            ?? throw new InvalidOperationException($"{reference}: no certificate issued");
        return (X509CertificateLoader.LoadCertificate(certificate), key);
    }

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

    /// <summary>The revoked serials of a CertificateList (RFC 5280 §5.1), in hex as X509Certificate2.SerialNumber writes them.</summary>
    private static List<string> RevokedSerials(ReadOnlyMemory<byte> certificateList)
    {
        AsnReader tbs = new AsnReader(certificateList, AsnEncodingRules.DER).ReadSequence().ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            tbs.ReadInteger();
        }

        tbs.ReadSequence();
        tbs.ReadSequence();
        tbs.ReadEncodedValue();
        if (tbs.HasData && !tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            tbs.ReadEncodedValue();
        }

        var serials = new List<string>();
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            AsnReader entries = tbs.ReadSequence();
            while (entries.HasData)
            {
                serials.Add(Convert.ToHexString(entries.ReadSequence().ReadIntegerBytes().Span));
            }
        }

        return serials;
    }
}
