using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// A repeated request gets the certificate it was answered with only while that certificate is active: once superseded by
/// re-enrollment or revoked, the repeat is refused (CertificateNoLongerActive, stored), and nothing is issued again.
/// </summary>
public sealed class InactiveRepeatTests
{
    [Theory]
    [InlineData(CertificateStatus.Superseded, "superseded by re-enrollment")]
    [InlineData(CertificateStatus.Revoked, "revoked")]
    public async Task A_repeat_after_the_certificate_became_inactive_is_refused(CertificateStatus status, string what)
    {
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] csr = TestCa.Csr();
        string key = IssuanceRequest.ComputeRequestKey(csr, "dev");
        using X509Certificate2 first = (await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "dev"), CancellationToken.None)).Certificate!;
        if (status == CertificateStatus.Superseded)
        {
            IssuanceResult renewed = await ca.Authority.IssueAsync(new IssuanceRequest
            {
                CsrDer = TestCa.Csr(), Requester = "dev", Protocol = "est-coaps", ReplacesSerialNumber = first.SerialNumber,
            }, CancellationToken.None);
            Assert.Equal(IssuanceStatus.Issued, renewed.Status);
        }
        else
        {
            Assert.True(await ca.Store.SetCertificateStatusAsync(first.SerialNumber, CertificateStatus.Revoked,
                new AuditEntry { Timestamp = DateTimeOffset.UtcNow, Actor = "operator", Action = "revoke", Details = "test" }, CancellationToken.None));
        }

        int certificates = (await ca.Store.ListCertificatesAsync(10, CancellationToken.None)).Count;
        IssuanceResult repeat = await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "dev"), CancellationToken.None);

        Assert.Equal(IssuanceStatus.Rejected, repeat.Status);
        Assert.Null(repeat.Certificate);
        Assert.Equal(RejectionReason.CertificateNoLongerActive, repeat.Reason);
        Assert.Equal($"this request was answered with certificate {first.SerialNumber}, which has since been {what}; it is not issued again: send a new request", repeat.Detail);
        StoredRequest stored = (await ca.Store.GetRequestAsync(repeat.RequestId!.Value, CancellationToken.None))!;
        Assert.Equal(RequestStatus.Rejected, stored.Status);
        Assert.Equal(RejectionReason.CertificateNoLongerActive, stored.RejectionReason);
        Assert.Equal(certificates, (await ca.Store.ListCertificatesAsync(10, CancellationToken.None)).Count);
        Assert.Equal(status, (await ca.Store.GetCertificateAsync(first.SerialNumber, CancellationToken.None))!.Status);

        // A new request from the same requester is judged afresh and issued.
        byte[] other = TestCa.Csr();
        IssuanceResult fresh = await ca.Authority.IssueAsync(TestCa.Request(other, requestKey: IssuanceRequest.ComputeRequestKey(other, "dev"), requester: "dev"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, fresh.Status);
    }

    [Fact]
    public async Task A_repeat_while_the_certificate_is_active_still_gets_it()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] csr = TestCa.Csr();
        string key = IssuanceRequest.ComputeRequestKey(csr, "dev");
        using X509Certificate2 first = (await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "dev"), CancellationToken.None)).Certificate!;
        IssuanceResult repeat = await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "dev"), CancellationToken.None);
        Assert.True(repeat.Repeated);
        Assert.Equal(first.RawData, repeat.Certificate!.RawData);
    }
}
