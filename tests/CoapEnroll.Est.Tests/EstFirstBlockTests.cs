using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Transport;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// An EST request that cannot succeed is refused at its first Block1 block, with the code and diagnostic the whole request
/// gets, and nothing of its body is held: plain coap://, an anonymous or PSK session, an untrusted certificate, an unknown
/// label. A device that may enroll has its body held and gets its certificate.
/// </summary>
public sealed class EstFirstBlockTests
{
    private const string NoDtls = "EST-coaps needs a DTLS session with a client certificate (RFC 9148 section 3)";
    private const string NoCertificate = "EST-coaps needs a client certificate in the DTLS handshake (RFC 9148 section 3)";
    private const string Untrusted = "the client certificate does not chain to this CA or a trusted manufacturer CA";

    private static readonly byte[] s_psk = RandomNumberGenerator.GetBytes(16);

    /// <summary>A CSR of about 1,850 bytes (the size of issue 19's upload): a P-256 request with a private extension as padding.</summary>
    private static byte[] LargeCsr(string subject = "CN=demo-device-1")
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension("1.3.6.1.4.1.55555.19.3", new byte[1600], critical: false));
        byte[] csr = request.CreateSigningRequest();
        Assert.InRange(csr.Length, 1800, 1900);
        return csr;
    }

    /// <summary>Block <paramref name="num"/> of <paramref name="csr"/> at 1024 bytes, as a device posts it to /<paramref name="path"/>.</summary>
    private static CoapMessage Block(byte[] csr, int num, string path = ".well-known/est/sen")
    {
        int offset = num * 1024;
        int count = Math.Min(1024, csr.Length - offset);
        return CoapMessage.CreateRequest(CoapCode.Post, "/" + path)
            .WithContentFormat(CoapContentFormat.Pkcs10)
            .WithBlock1(new BlockOption(num, offset + count < csr.Length, 6))
            .SetUInt(CoapOptionNumber.Size1, (uint)csr.Length)
            .WithPayload(csr.AsMemory(offset, count));
    }

    private static void AssertNothingHeld(EstFixture est)
    {
        CoapBlockWiseLayer layer = est.Server.BlockWise!;
        Assert.Equal(0, layer.ReassemblyBytes);
        Assert.Equal(0, layer.ReassemblyCount);
    }

    private static async Task<CoapMessage> SendOverDtlsAsync(EstFixture est, DtlsClientOptions options, CoapMessage request)
    {
        await using DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(est.DtlsEndPoint, options, EstFixture.Timeout());
        await using var coap = new CoapClient(channel);
        return await coap.SendAsync(request, channel.RemoteEndPoint, EstFixture.Timeout());
    }

    [Theory]
    [InlineData("sen")]
    [InlineData("sren")]
    [InlineData("skg")]
    public async Task Plain_coap_is_4_01_at_the_first_block(string operation)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using var coap = new CoapClient(UdpDatagramChannel.BindEphemeralFor(est.UdpEndPoint));

        CoapMessage response = await coap.SendAsync(Block(LargeCsr(), 0, ".well-known/est/" + operation), est.UdpEndPoint, EstFixture.Timeout());
        Assert.Equal((CoapCode.Unauthorized, NoDtls), (response.Code, response.PayloadText));
        Assert.Null(response.Block1);
        AssertNothingHeld(est);

        // The same refusal, word for word, as for the request in one message.
        CoapMessage whole = await coap.SendAsync(Block(LargeCsr(), 0, ".well-known/est/" + operation).WithoutOption(CoapOptionNumber.Block1)
            .WithoutOption(CoapOptionNumber.Size1).WithPayload(new byte[300]), est.UdpEndPoint, EstFixture.Timeout());
        Assert.Equal((response.Code, response.PayloadText), (whole.Code, whole.PayloadText));
    }

    [Fact]
    public async Task An_anonymous_session_is_4_01_at_the_first_block()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage response = await SendOverDtlsAsync(est, est.ClientDtlsOptions(null), Block(LargeCsr(), 0));
        Assert.Equal((CoapCode.Unauthorized, NoCertificate), (response.Code, response.PayloadText));
        AssertNothingHeld(est);
    }

    [Fact]
    public async Task A_psk_session_is_4_01_at_the_first_block()
    {
        await using EstFixture est = await EstFixture.StartAsync(configureDtls: o =>
            o.PskKeyLookup = (identity, _) => ValueTask.FromResult(identity.Span.SequenceEqual("sensor-7"u8) ? (byte[]?)s_psk : null));
        DtlsClientOptions psk = est.ClientDtlsOptions(null);
        psk.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
        psk.PskIdentity = "sensor-7"u8.ToArray();
        psk.PskKey = s_psk;

        CoapMessage response = await SendOverDtlsAsync(est, psk, Block(LargeCsr(), 0));
        Assert.Equal((CoapCode.Unauthorized, NoCertificate), (response.Code, response.PayloadText));
        AssertNothingHeld(est);
    }

    [Fact]
    public async Task An_untrusted_certificate_is_4_03_at_the_first_block()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 intruder = new CertificateRequest("CN=intruder", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        CoapMessage response = await SendOverDtlsAsync(est, est.ClientDtlsOptions(intruder), Block(LargeCsr(), 0));
        Assert.Equal((CoapCode.Forbidden, Untrusted), (response.Code, response.PayloadText));
        AssertNothingHeld(est);
        Assert.Empty(await est.RequestsAsync());
    }

    [Fact]
    public async Task An_unknown_label_is_4_04_at_the_first_block()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        CoapMessage response = await SendOverDtlsAsync(est, est.ClientDtlsOptions(est.Device), Block(LargeCsr(), 0, ".well-known/est/nolabel/sen"));
        Assert.Equal((CoapCode.NotFound, "no EST label 'nolabel'"), (response.Code, response.PayloadText));
        AssertNothingHeld(est);
    }

    [Fact]
    public async Task A_trusted_device_has_its_body_held_block_by_block_and_is_issued_its_certificate()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using DtlsClientChannel channel = await est.ConnectAsync(est.Device);
        await using var coap = new CoapClient(channel);
        byte[] csr = LargeCsr();

        CoapMessage first = await coap.SendAsync(Block(csr, 0), channel.RemoteEndPoint, EstFixture.Timeout());
        Assert.Equal(CoapCode.Continue, first.Code);
        Assert.Equal(1024, est.Server.BlockWise!.ReassemblyBytes);
        Assert.Equal(0, est.Server.BlockWise.UnauthenticatedReassemblyBytes);

        CoapMessage last = await coap.SendAsync(Block(csr, 1), channel.RemoteEndPoint, EstFixture.Timeout());
        Assert.Equal((CoapCode.Changed, CoapContentFormat.Pkcs7CertsOnly), (last.Code, last.ContentFormat));
        AssertNothingHeld(est);
        Assert.Contains(await est.CertificatesAsync(), c => c.Subject == "CN=demo-device-1");
    }
}
