using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// Issue 19 §2: a /sen request repeated after its certificate was superseded by /sren (or revoked) gets no certificate: refused
/// with CertificateNoLongerActive and stored; the superseded certificate is not handed out again, nor is a new one issued.
/// </summary>
public sealed class RepeatAfterReenrollmentTests
{
    [Fact]
    public async Task Repeating_sen_after_sren_is_refused_and_stored()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        byte[] csr = EnrollmentFixture.Csr("CN=demo-device-1");
        using EnrollmentOutcome first = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(device), csr), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, first.Status);

        using EnrollmentOutcome renewed = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(await f.AuthenticateAsync(first.Certificate!), EnrollmentFixture.Csr("CN=demo-device-1"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, renewed.Status);
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(first.Certificate!.SerialNumber, CancellationToken.None))!.Status);

        using EnrollmentOutcome repeat = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(device), csr), CancellationToken.None);

        Assert.Equal(EnrollmentStatus.Refused, repeat.Status);
        Assert.Null(repeat.Certificate);
        Assert.Equal(RejectionReason.CertificateNoLongerActive, repeat.Reason);
        Assert.Contains($"certificate {first.Certificate.SerialNumber}, which has since been superseded by re-enrollment", repeat.Detail, StringComparison.Ordinal);
        StoredRequest stored = (await f.Store.GetRequestAsync(repeat.RequestId!.Value, CancellationToken.None))!;
        Assert.Equal(RequestStatus.Rejected, stored.Status);
        Assert.Equal(2, (await f.Store.ListCertificatesAsync(10, CancellationToken.None)).Count);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(renewed.Certificate!.SerialNumber, CancellationToken.None))!.Status);
    }
}
