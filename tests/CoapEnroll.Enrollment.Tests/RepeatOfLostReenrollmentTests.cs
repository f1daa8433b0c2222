using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// Issue 11 (crash consistency): a re-enrollment whose answer was lost supersedes the certificate it renewed, and the device repeats it
/// authenticated with that certificate. The superseded certificate authenticates for a re-enrollment only while the store holds the
/// issued request of its own that superseded it, and may then repeat exactly that request (the certificate issued then is the answer);
/// anything else is refused as the inactive certificate it is, without a stored row.
/// </summary>
public sealed class RepeatOfLostReenrollmentTests
{
    private const string Subject = "CN=demo-device-1";
    private const string Inactive = "the client certificate is not an active certificate of this CA (revoked or superseded)";

    private static readonly ChannelBinding s_secondSession = ChannelBinding.TlsUnique("DTLS", [21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32]);

    [Fact]
    public async Task The_superseded_certificate_repeating_its_sren_in_a_new_session_gets_the_certificate_issued_then()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        (X509Certificate2 old, byte[] csr, X509Certificate2 renewed) = await RenewAsync(f);

        // The same CSR, linked to the first session (its challengePassword), from a new session: the stored certificate, nothing new.
        AuthenticationResult authentication = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(old, s_secondSession), EnrollmentOperation.Reenroll, CancellationToken.None);
        Requester again = Assert.IsType<Requester>(authentication.Requester);
        Assert.True(again.IsRepeatOnly);
        Assert.Equal(RequesterTrust.ThisCa, again.Trust);
        using EnrollmentOutcome repeat = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(again, csr, EnrollmentOperation.Reenroll, EnrollmentFixture.Claim()), CancellationToken.None);

        Assert.Equal(EnrollmentStatus.Issued, repeat.Status);
        Assert.True(repeat.Repeated);
        Assert.Equal(renewed.RawData, repeat.Certificate!.RawData);
        Assert.Equal(2, (await f.Store.ListCertificatesAsync(10, CancellationToken.None)).Count);
        Assert.Empty(await f.RejectedAsync());
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(old.SerialNumber, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task The_superseded_certificate_authenticates_for_nothing_but_a_re_enrollment()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        (X509Certificate2 old, _, _) = await RenewAsync(f);

        foreach (EnrollmentOperation? operation in new EnrollmentOperation?[] { null, EnrollmentOperation.Enroll, EnrollmentOperation.ServerKeyGeneration })
        {
            AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(old), operation, CancellationToken.None);
            Assert.Null(result.Requester);
            Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, result.Failure);
            Assert.Equal(Inactive, result.Detail);
        }
    }

    [Fact]
    public async Task Another_CSR_or_another_operation_from_the_superseded_certificate_is_refused_unstored_and_issues_nothing()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        (X509Certificate2 old, byte[] csr, _) = await RenewAsync(f);
        Requester repeatOnly = (await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(old), EnrollmentOperation.Reenroll, CancellationToken.None)).Requester!;

        EnrollmentRequest[] others =
        [
            // A new key: a second renewal, which the superseded certificate may not make.
            EnrollmentFixture.Request(repeatOnly, EnrollmentFixture.Csr(Subject), EnrollmentOperation.Reenroll),
            // The very CSR as /sen: another request (its key names the operation).
            EnrollmentFixture.Request(repeatOnly, csr, EnrollmentOperation.Enroll, EnrollmentFixture.Claim()),
            // The very CSR for another profile.
            EnrollmentFixture.Request(repeatOnly, csr, EnrollmentOperation.Reenroll, EnrollmentFixture.Claim(), profile: "other"),
        ];
        foreach (EnrollmentRequest other in others)
        {
            using EnrollmentOutcome refused = await f.Service.EnrollAsync(other, CancellationToken.None);
            Assert.Equal(EnrollmentStatus.Refused, refused.Status);
            Assert.Equal(RejectionReason.CertificateNoLongerActive, refused.Reason);
            Assert.StartsWith(Inactive, refused.Detail, StringComparison.Ordinal);
            Assert.Null(refused.RequestId);
        }

        // A request that cannot even be read, as front ends record for a requester: not recorded for this one either.
        using EnrollmentOutcome unreadable = await f.Service.RefuseAsync(repeatOnly, EnrollmentOperation.Reenroll, "sren", null, new byte[] { 0x30, 0x00 },
            RejectionReason.MalformedRequest, "not a CSR", CancellationToken.None);
        Assert.Equal(RejectionReason.CertificateNoLongerActive, unreadable.Reason);

        // Nor may it revoke, not even a certificate of its own identity.
        RevocationOutcome revocation = await f.Service.RevokeAsync(repeatOnly, old.SerialNumber, 1, CancellationToken.None);
        Assert.Equal(RevocationOutcomeStatus.Refused, revocation.Status);

        Assert.Empty(await f.RejectedAsync());
        Assert.Equal(2, (await f.Store.ListCertificatesAsync(10, CancellationToken.None)).Count);
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(old.SerialNumber, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task A_certificate_superseded_without_a_successor_request_of_its_own_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        using EnrollmentOutcome first = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(device), EnrollmentFixture.Csr(Subject)), CancellationToken.None);
        Assert.True(await f.Store.SetCertificateStatusAsync(first.Certificate!.SerialNumber, CertificateStatus.Superseded,
            new AuditEntry { Timestamp = DateTimeOffset.UtcNow, Actor = "test", Action = "status", Details = "superseded" }, CancellationToken.None));

        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(first.Certificate), EnrollmentOperation.Reenroll, CancellationToken.None);

        Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, result.Failure);
        Assert.Equal(Inactive, result.Detail);
    }

    [Fact]
    public async Task A_device_certificate_a_registrar_renewed_is_the_registrar_s_to_repeat_not_the_device_s()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 ra = await IssueRegistrarAsync(f);
        Requester registrar = await f.AuthenticateAsync(ra);
        using EnrollmentOutcome first = await f.Service.EnrollAsync(EnrollmentFixture.Request(registrar, EnrollmentFixture.Csr("CN=sensor-7")), CancellationToken.None);
        byte[] csr = EnrollmentFixture.Csr("CN=sensor-7");
        using EnrollmentOutcome renewed = await f.Service.EnrollAsync(EnrollmentFixture.Request(registrar, csr, EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(first.Certificate!.SerialNumber, CancellationToken.None))!.Status);

        // The superseding request is the registrar's: the device's own certificate gets nothing from it.
        AuthenticationResult device = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(first.Certificate), EnrollmentOperation.Reenroll, CancellationToken.None);
        Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, device.Failure);

        // The registrar repeating it (its answer lost) gets the certificate issued then: the request key is found before anything is issued.
        using EnrollmentOutcome repeat = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(ra), csr, EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, repeat.Status);
        Assert.True(repeat.Repeated);
        Assert.Equal(renewed.Certificate!.RawData, repeat.Certificate!.RawData);
    }

    [Fact]
    public async Task A_superseded_certificate_revoked_since_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        (X509Certificate2 old, _, _) = await RenewAsync(f);
        Assert.Equal(RevocationStatus.Revoked, await f.Store.RevokeCertificateAsync(old.SerialNumber, 1, DateTimeOffset.UtcNow, CancellationToken.None));

        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(old), EnrollmentOperation.Reenroll, CancellationToken.None);

        Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, result.Failure);
        Assert.Equal(Inactive, result.Detail);
    }

    [Fact]
    public async Task A_repeat_whose_certificate_was_itself_renewed_since_is_refused_as_no_longer_active()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        (X509Certificate2 old, byte[] csr, X509Certificate2 renewed) = await RenewAsync(f);
        using EnrollmentOutcome third = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(await f.AuthenticateAsync(renewed), EnrollmentFixture.Csr(Subject), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, third.Status);

        Requester repeatOnly = (await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(old), EnrollmentOperation.Reenroll, CancellationToken.None)).Requester!;
        using EnrollmentOutcome repeat = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(repeatOnly, csr, EnrollmentOperation.Reenroll, EnrollmentFixture.Claim()), CancellationToken.None);

        Assert.Equal(RejectionReason.CertificateNoLongerActive, repeat.Reason);
        Assert.Contains($"certificate {renewed.SerialNumber}, which has since been superseded by re-enrollment", repeat.Detail, StringComparison.Ordinal);
        Assert.Equal(3, (await f.Store.ListCertificatesAsync(10, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_sren_held_for_approval_and_approved_since_is_answered_to_the_certificate_it_superseded()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(
            configureCa: ca => ca.Profiles = new() { ["held"] = new CertificateProfileOptions { RequiresApproval = true } });
        using X509Certificate2 device = f.DeviceCertificate();
        using EnrollmentOutcome first = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(device), EnrollmentFixture.Csr(Subject)), CancellationToken.None);
        byte[] csr = EnrollmentFixture.Csr(Subject);
        using EnrollmentOutcome pending = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(await f.AuthenticateAsync(first.Certificate!), csr, EnrollmentOperation.Reenroll, profile: "held"), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Pending, pending.Status);
        IssuanceResult approved = await f.Authority.ApproveAsync(pending.RequestId!.Value, "operator:test", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, approved.Status);

        // The device polls with the certificate the approval superseded.
        Requester polling = (await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(first.Certificate!), EnrollmentOperation.Reenroll, CancellationToken.None)).Requester!;
        using EnrollmentOutcome answer = await f.Service.EnrollAsync(EnrollmentFixture.Request(polling, csr, EnrollmentOperation.Reenroll, profile: "held"), CancellationToken.None);

        Assert.Equal(EnrollmentStatus.Issued, answer.Status);
        Assert.Equal(approved.Certificate!.RawData, answer.Certificate!.RawData);
    }

    /// <summary>Enrolls with the IDevID, then renews that certificate with a CSR linked to the first session; the answer is "lost".</summary>
    private static async Task<(X509Certificate2 Old, byte[] Csr, X509Certificate2 Renewed)> RenewAsync(EnrollmentFixture f)
    {
        using X509Certificate2 device = f.DeviceCertificate();
        EnrollmentOutcome first = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(device), EnrollmentFixture.Csr(Subject)), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, first.Status);
        byte[] csr = EnrollmentFixture.Csr(Subject, EnrollmentFixture.Claim());
        EnrollmentOutcome renewed = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(await f.AuthenticateAsync(first.Certificate!), csr, EnrollmentOperation.Reenroll, EnrollmentFixture.Claim()), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, renewed.Status);
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(first.Certificate!.SerialNumber, CancellationToken.None))!.Status);
        return (first.Certificate, csr, renewed.Certificate!);
    }

    private static async Task<X509Certificate2> IssueRegistrarAsync(EnrollmentFixture f)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        IssuanceResult result = await f.Authority.IssueRegistrarCertificateAsync(EnrollmentFixture.Csr("CN=edge-1", key: key), "operator:test", 30, CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, result.Status);
        return result.Certificate!.CopyWithPrivateKey(key);
    }
}
