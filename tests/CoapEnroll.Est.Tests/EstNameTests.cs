using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// The name rules over EST-coaps (label "bound" is the shipped default profile): a name not bound to the client certificate, a
/// reserved name or a name held by another device is 4.03 with a diagnostic naming the rule, stored with its reason; the device's own
/// name is issued. The rules themselves are tested in CoapEnroll.Enrollment.Tests.
/// </summary>
public sealed class EstNameTests
{
    [Theory]
    [InlineData("sen", "SERIALNUMBER=DEMO-0002, CN=demo-device-2", RejectionReason.NameNotBoundToRequester,
        "name not bound to the requester: CN 'demo-device-2' is not the client certificate's CN 'demo-device-1', and no subject template or allowed subject of profile 'bound' matches it")]
    [InlineData("skg", "CN=CoapEnroll Demo Issuing CA, O=CoapEnroll", RejectionReason.ReservedName,
        "reserved name: the subject is the issuing CA's name, which this CA never issues")]
    [InlineData("sen", "CN=localhost", RejectionReason.ReservedName,
        "reserved name: CN 'localhost' is a name of this server's certificate, which this CA never issues")]
    public async Task A_name_the_device_may_not_have_is_4_03_naming_the_rule_and_stored(string operation, string subject, RejectionReason reason, string diagnostic)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage response = await PostAsync(est, operation, Csr(subject));
        Assert.Equal(CoapCode.Forbidden, response.Code);
        Assert.Equal(diagnostic, response.PayloadText);
        StoredRequest stored = Assert.Single(await est.RequestsAsync());
        Assert.Equal((RequestStatus.Rejected, reason, $"/{operation}: {diagnostic}", "bound"), (stored.Status, stored.RejectionReason, stored.ReasonDetail, stored.Profile));
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task The_device_s_own_name_is_issued_and_held_against_another_device()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage issued = await PostAsync(est, "sen", Csr("CN=demo-device-1"));
        Assert.Equal(CoapCode.Changed, issued.Code);

        using X509Certificate2 twin = Twin(est);
        CoapMessage held = await PostAsync(est, "sen", Csr("CN=demo-device-1"), twin);
        Assert.Equal(CoapCode.Forbidden, held.Code);
        Assert.Equal("name held by another requester: an active certificate of another requester has the subject CN=demo-device-1", held.PayloadText);
        Assert.Single(await est.CertificatesAsync());
    }

    private static byte[] Csr(string subject)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest(DistinguishedNameParser.TryParse(subject, out _)!, key, HashAlgorithmName.SHA256).CreateSigningRequest();
    }

    private static async Task<CoapMessage> PostAsync(EstFixture est, string operation, byte[] csr, X509Certificate2? client = null)
    {
        await using DtlsClientChannel channel = await est.ConnectAsync(client ?? est.Device);
        await using var coap = new CoapClient(channel);
        CoapMessage request = CoapMessage.CreateRequest(CoapCode.Post, $"/.well-known/est/bound/{operation}").WithPayload(csr).WithContentFormat(CoapContentFormat.Pkcs10);
        return await coap.SendAsync(request, channel.RemoteEndPoint, EstFixture.Timeout());
    }

    // A second device of the demo manufacturer whose IDevID carries the demo device's CN.
    private static X509Certificate2 Twin(EstFixture est)
    {
        using X509Certificate2 manufacturer = X509Certificate2.CreateFromPemFile(est.Hierarchy.Layout.ManufacturerCaCertificate, est.Hierarchy.Layout.ManufacturerCaKey);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 device = new CertificateRequest("CN=demo-device-1", key, HashAlgorithmName.SHA256)
            .Create(manufacturer, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(9));
        return device.CopyWithPrivateKey(key);
    }
}
