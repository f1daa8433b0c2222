using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp.Tests.Client;

/// <summary>kur carries regCtrl oldCertID (RFC 4211 §6.5) naming the certificate it updates (RFC 9483 §4.1.3); ir does not.</summary>
public sealed class CmpRequestsOldCertIdTests
{
    private static PkiMessage RoundTrip(PkiMessage message)
    {
        CmpDecodeResult decoded = PkiMessageCodec.Decode(PkiMessageCodec.Encode(message));
        Assert.True(decoded.IsSuccess, decoded.Reason);
        return decoded.Message;
    }

    [Theory]
    [InlineData(new byte[] { 0x01 })]
    [InlineData(new byte[] { 0x00, 0x80, 0x11, 0x22 })]
    public void Kur_NamesTheOldCertificate_ByIssuerAndSerial_AndItsPopStillVerifies(byte[] serial)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issuer = new X500DistinguishedName("CN=Old Issuer,O=Test");
        using var oldKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=dev-1", oldKey, HashAlgorithmName.SHA256);
        using X509Certificate2 old = request.Create(issuer, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1), serial);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PkiHeader header = CmpRequests.Header(old.SubjectName, null, null, CmpRequests.NewId());

        PkiMessage kur = RoundTrip(CmpRequests.CertificateRequest(PkiBodyType.Kur, header, null, newKey, null, old));
        CertReqMsg message = ((CertReqMessagesBody)kur.Body).Requests[0];
        Assert.True(CrmfControls.TryReadOldCertId(message.CertReq.Controls, out byte[] readIssuer, out byte[] readSerial));
        Assert.Equal(issuer.RawData, readIssuer);
        Assert.Equal(serial, readSerial);
        Assert.True(CrmfRequests.Convert(message).IsSuccess, CrmfRequests.Convert(message).Detail);

        PkiMessage ir = RoundTrip(CmpRequests.CertificateRequest(PkiBodyType.Ir, header, new X500DistinguishedName("CN=dev-1"), newKey));
        Assert.False(CrmfControls.TryReadOldCertId(((CertReqMessagesBody)ir.Body).Requests[0].CertReq.Controls, out _, out _));
    }
}
