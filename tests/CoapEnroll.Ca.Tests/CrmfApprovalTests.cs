using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca.Tests;

/// <summary>CRMF requests (CMP) through the CA: issued directly, and approved from the stored CertRequest after waiting.</summary>
public sealed class CrmfApprovalTests
{
    private static Action<CaOptions> ManualProfile => o => o.Profiles = new()
    {
        ["manual"] = new CertificateProfileOptions { RequiresApproval = true },
        ["auto"] = new CertificateProfileOptions(),
    };

    // CertRequest ::= SEQUENCE { certReqId INTEGER, certTemplate SEQUENCE { subject [5] EXPLICIT Name, publicKey [6] IMPLICIT SPKI, extensions [9] IMPLICIT } }
    private static byte[] CertRequest(string subject, byte[]? spki, string? dnsName)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            using (writer.PushSequence())
            {
                using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 5, isConstructed: true)))
                {
                    writer.WriteEncodedValue(new X500DistinguishedName(subject).RawData);
                }

                if (spki is not null)
                {
                    byte[] retagged = (byte[])spki.Clone();
                    retagged[0] = 0xA6;
                    writer.WriteEncodedValue(retagged);
                }

                if (dnsName is not null)
                {
                    var san = new SubjectAlternativeNameBuilder();
                    san.AddDnsName(dnsName);
                    using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 9, isConstructed: true)))
                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier("2.5.29.17");
                        writer.WriteOctetString(san.Build().RawData);
                    }
                }
            }
        }

        return writer.Encode();
    }

    private static CertificationRequest Signed(ECDsa key, string subject, string? dnsName)
    {
        byte[] der = CertRequest(subject, key.ExportSubjectPublicKeyInfo(), dnsName);
        byte[] signature = key.SignData(der, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        CrmfSignatureProof proof = CrmfSignatureProof.TryCreate(der, new byte[] { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 }, signature,
            PublicKey.CreateFromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _), out string? problem) ?? throw new InvalidOperationException(problem);
        var extensions = new List<X509Extension>();
        if (dnsName is not null)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(dnsName);
            extensions.Add(san.Build());
        }

        return new CertificationRequest(CertificationRequestFormat.Crmf, der, new X500DistinguishedName(subject),
            PublicKey.CreateFromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _), extensions, proof);
    }

    private static IssuanceRequest Issue(CertificationRequest request, string profile, PublicKey? overrideKey = null) => new()
    {
        CsrDer = request.Encoded,
        Request = request,
        Requester = "secret:dev",
        Protocol = "cmp-coap",
        ProfileName = profile,
        OverridePublicKey = overrideKey,
    };

    [Fact]
    public async Task A_crmf_request_is_issued_and_a_tampered_one_is_refused()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertificationRequest request = Signed(key, "CN=crmf-dev", "crmf-dev.example");
        IssuanceResult issued = await ca.Authority.IssueAsync(Issue(request, "auto"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, issued.Status);
        Assert.Equal("CN=crmf-dev", issued.Certificate!.Subject);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), issued.Certificate.PublicKey.ExportSubjectPublicKeyInfo());

        byte[] tampered = request.Encoded.ToArray();
        tampered[^1] ^= 1;
        CertificationRequest other = Signed(key, "CN=crmf-dev", "crmf-dev.example");
        var forged = new CertificationRequest(CertificationRequestFormat.Crmf, tampered, request.Subject, request.PublicKey, request.RequestedExtensions,
            CrmfSignatureProof.TryCreate(tampered, new byte[] { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 }, new byte[70], request.PublicKey!, out _));
        IssuanceResult refused = await ca.Authority.IssueAsync(Issue(forged, "auto"), CancellationToken.None);
        Assert.Equal(RejectionReason.BadSignature, refused.Reason);
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(Issue(other, "auto"), CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_pending_crmf_request_is_approved_from_the_stored_cert_request()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertificationRequest request = Signed(key, "CN=crmf-wait", "crmf-wait.example");
        IssuanceResult pending = await ca.Authority.IssueAsync(Issue(request, "manual"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Pending, pending.Status);

        await ca.RestartAsync();
        IssuanceResult approved = await ca.Authority.ApproveAsync(pending.RequestId!.Value, "operator", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, approved.Status);
        Assert.Equal("CN=crmf-wait", approved.Certificate!.Subject);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), approved.Certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Contains("crmf-wait.example", approved.Certificate.Extensions["2.5.29.17"]!.Format(false));
    }

    [Fact]
    public async Task A_pending_central_key_generation_request_is_approved_for_the_generated_key()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        byte[] der = CertRequest("CN=crmf-central", null, null);
        var request = new CertificationRequest(CertificationRequestFormat.Crmf, der, new X500DistinguishedName("CN=crmf-central"), null, [], null);
        using var generated = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        IssuanceResult pending = await ca.Authority.IssueAsync(Issue(request, "manual", new PublicKey(generated)), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Pending, pending.Status);
        IssuanceResult approved = await ca.Authority.ApproveAsync(pending.RequestId!.Value, "operator", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, approved.Status);
        Assert.Equal(generated.ExportSubjectPublicKeyInfo(), approved.Certificate!.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public async Task A_crmf_request_without_a_key_or_override_is_refused()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        byte[] der = CertRequest("CN=crmf-central", null, null);
        var request = new CertificationRequest(CertificationRequestFormat.Crmf, der, new X500DistinguishedName("CN=crmf-central"), null, [], null);
        IssuanceResult refused = await ca.Authority.IssueAsync(Issue(request, "auto"), CancellationToken.None);
        Assert.Equal(RejectionReason.MalformedRequest, refused.Reason);
    }

    [Fact]
    public void A_pkcs10_request_needs_a_key_and_a_proof() =>
        Assert.Throws<ArgumentException>(() => new CertificationRequest(CertificationRequestFormat.Pkcs10, new byte[100], new X500DistinguishedName("CN=x"), null, [], null));
}
