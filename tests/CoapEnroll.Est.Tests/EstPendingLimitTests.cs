using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// A device past <c>Ca:MaxPendingRequestsPerIdentity</c> gets 5.03 with Max-Age for a request that needs approval, like a pending
/// one (RFC 9148 §4.7), but nothing of it is stored; the same device is still served where no approval is needed.
/// </summary>
public sealed class EstPendingLimitTests
{
    [Fact]
    public async Task Past_the_pending_bound_a_request_needing_approval_gets_5_03_with_Max_Age_and_is_not_stored()
    {
        await using EstFixture est = await EstFixture.StartAsync(configureCa: o => o.MaxPendingRequestsPerIdentity = 2);
        await using DtlsClientChannel channel = await est.ConnectAsync(est.Device);
        await using var coap = new CoapClient(channel);

        async Task<CoapMessage> EnrollAsync(string label, string subject)
        {
            using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            byte[] csr = new CertificateRequest(subject, key, HashAlgorithmName.SHA256).CreateSigningRequest();
            CoapMessage request = CoapMessage.CreateRequest(CoapCode.Post, $"/.well-known/est/{label}sen").WithContentFormat(CoapContentFormat.Pkcs10).WithPayload(csr);
            return await coap.SendAsync(request, channel.RemoteEndPoint, EstFixture.Timeout());
        }

        for (int i = 0; i < 2; i++)
        {
            CoapMessage pending = await EnrollAsync("manual/", $"CN=waiting-{i}");
            Assert.Equal(CoapCode.ServiceUnavailable, pending.Code);
            Assert.Contains("waiting for approval", pending.PayloadText, StringComparison.Ordinal);
        }

        CoapMessage refused = await EnrollAsync("manual/", "CN=one-too-many");
        Assert.Equal(CoapCode.ServiceUnavailable, refused.Code);
        Assert.Equal(1u, refused.MaxAge);
        Assert.Contains("retry later", refused.PayloadText, StringComparison.Ordinal);
        Assert.Equal(2, (await est.Authority.ListPendingAsync(10, default)).Count);
        Assert.Equal(2, (await est.RequestsAsync()).Count); // the refused request left no row, not even a rejected one

        // The device is still served where no approval is needed.
        CoapMessage issued = await EnrollAsync("", "CN=still-served");
        Assert.Equal(CoapCode.Changed, issued.Code);
    }
}
