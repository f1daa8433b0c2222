using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;

namespace CoapEnroll.Est.Tests;

/// <summary>Every refusal has its exact code and issues nothing.</summary>
public sealed class EstRefusalTests
{
    private static byte[] Csr(string subject = "CN=refused")
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest(subject, key, HashAlgorithmName.SHA256).CreateSigningRequest();
    }

    private static CoapMessage Post(string operation, byte[] csr, int? contentFormat = CoapContentFormat.Pkcs10, int? accept = null)
    {
        CoapMessage request = CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/est/" + operation).WithPayload(csr);
        request = contentFormat is { } cf ? request.WithContentFormat(cf) : request;
        return accept is { } a ? request.WithAccept(a) : request;
    }

    private static async Task<CoapMessage> SendAsync(EstFixture est, X509Certificate2? clientCertificate, CoapMessage request)
    {
        await using DtlsClientChannel channel = await est.ConnectAsync(clientCertificate);
        await using var coap = new CoapClient(channel);
        return await coap.SendAsync(request, channel.RemoteEndPoint, EstFixture.Timeout());
    }

    [Theory]
    [InlineData("sen")]
    [InlineData("crts")]
    [InlineData("skg")]
    public async Task Anonymous_dtls_client_is_4_01(string operation)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage request = operation == "crts" ? CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/crts") : Post(operation, Csr());
        CoapMessage response = await SendAsync(est, null, request);
        Assert.Equal(CoapCode.Unauthorized, response.Code);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Plain_udp_is_4_01()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using var coap = new CoapClient(UdpDatagramChannel.BindEphemeralFor(est.UdpEndPoint));
        CoapMessage response = await coap.SendAsync(Post("sen", Csr()), est.UdpEndPoint, EstFixture.Timeout());
        Assert.Equal(CoapCode.Unauthorized, response.Code);
        Assert.Contains("DTLS", response.PayloadText);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Untrusted_device_certificate_is_4_03()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        X509Certificate2 intruderWithKey = CreateSelfSignedWithKey();
        CoapMessage response = await SendAsync(est, intruderWithKey, Post("sen", Csr()));
        Assert.Equal(CoapCode.Forbidden, response.Code);
        Assert.Empty(await est.CertificatesAsync());
    }

    private static X509Certificate2 CreateSelfSignedWithKey()
    {
        ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=intruder", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Fact]
    public async Task Tampered_csr_is_4_00_with_a_diagnostic()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        byte[] csr = Csr("CN=tamper");
        int at = csr.AsSpan().IndexOf("tamper"u8);
        csr[at] ^= 0x20; // "Tamper": the signature no longer covers the content
        CoapMessage response = await SendAsync(est, est.Device, Post("sen", csr));
        Assert.Equal(CoapCode.BadRequest, response.Code);
        Assert.Contains("signature", response.PayloadText);

        CoapMessage garbage = await SendAsync(est, est.Device, Post("sen", [0x30, 0x03, 0x02, 0x01, 0x00]));
        Assert.Equal(CoapCode.BadRequest, garbage.Code);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Sren_with_a_different_subject_or_with_a_manufacturer_certificate_is_4_03()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        X509Certificate2 issued;
        await using (EstCoapsClient client = await est.ClientAsync())
        {
            issued = await client.EnrollAsync(new X500DistinguishedName("CN=renew-me"), cancellationToken: EstFixture.Timeout());
        }

        await using (EstCoapsClient renew = await est.ClientAsync(issued))
        {
            var ex = await Assert.ThrowsAsync<EstRequestException>(() => renew.ReenrollAsync(new X500DistinguishedName("CN=someone-else"), cancellationToken: EstFixture.Timeout()));
            Assert.Equal(CoapCode.Forbidden, ex.Code);
            Assert.Contains("subject", ex.Diagnostic);
        }

        await using (EstCoapsClient idevid = await est.ClientAsync())
        {
            var ex = await Assert.ThrowsAsync<EstRequestException>(() => idevid.ReenrollAsync(est.Device.SubjectName, cancellationToken: EstFixture.Timeout()));
            Assert.Equal(CoapCode.Forbidden, ex.Code);
        }

        Assert.Single(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Pop_link_mismatch_is_4_03_and_a_missing_link_when_required_too()
    {
        await using EstFixture est = await EstFixture.StartAsync(o => o.RequirePopLinking = true);
        await using EstCoapsClient client = await est.ClientAsync();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] wrong = client.CreateCsr(new X500DistinguishedName("CN=pop"), key, r => r.OtherRequestAttributes.Add(EstCoapsClient.ChallengePassword(Convert.ToBase64String(new byte[12]))), linkProofOfPossession: false);
        var ex = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(wrong, cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, ex.Code);
        Assert.Contains("tls-unique", ex.Diagnostic);

        // The raw tls-unique instead of its base64 form (RFC 7030 §3.5) is also a mismatch.
        byte[] raw = client.CreateCsr(new X500DistinguishedName("CN=pop"), key, r => r.OtherRequestAttributes.Add(EstCoapsClient.ChallengePassword(Convert.ToHexString(client.Session.TlsUnique))), linkProofOfPossession: false);
        Assert.Equal(CoapCode.Forbidden, (await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(raw, cancellationToken: EstFixture.Timeout()))).Code);

        byte[] unlinked = client.CreateCsr(new X500DistinguishedName("CN=pop"), key, linkProofOfPossession: false);
        ex = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(unlinked, cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, ex.Code);
        Assert.Contains("required", ex.Diagnostic);
        Assert.Empty(await est.CertificatesAsync());

        // A CSR linked to another session is refused in this one.
        await using EstCoapsClient other = await est.ClientAsync();
        byte[] foreign = other.CreateCsr(new X500DistinguishedName("CN=pop"), key);
        Assert.Equal(CoapCode.Forbidden, (await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(foreign, cancellationToken: EstFixture.Timeout()))).Code);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Theory]
    [InlineData("sen", 60)]
    [InlineData("sren", 0)]
    [InlineData("skg", null)]
    [InlineData("skc", 42)]
    public async Task Wrong_content_format_is_4_15(string operation, int? contentFormat)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage response = await SendAsync(est, est.Device, Post(operation, Csr(), contentFormat));
        Assert.Equal(CoapCode.UnsupportedContentFormat, response.Code);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Theory]
    [InlineData("sen", 50)]
    [InlineData("sen", 62)]
    [InlineData("skg", 281)]
    [InlineData("crts", 0)]
    [InlineData("att", 281)]
    public async Task Wrong_accept_is_4_06(string operation, int accept)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage request = operation is "crts" or "att"
            ? CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/" + operation).WithAccept(accept)
            : Post(operation, Csr(), accept: accept);
        CoapMessage response = await SendAsync(est, est.Device, request);
        Assert.Equal(CoapCode.NotAcceptable, response.Code);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Wrong_method_is_4_05()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage response = await SendAsync(est, est.Device, CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/sen"));
        Assert.Equal(CoapCode.MethodNotAllowed, response.Code);
    }
}
