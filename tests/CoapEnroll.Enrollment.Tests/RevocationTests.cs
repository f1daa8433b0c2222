using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// Revocation requested by a requester: with the certificate itself, or by the identity it belongs to; nobody else's, and an
/// unknown serial number refused exactly like somebody else's certificate.
/// </summary>
public sealed class RevocationTests
{
    [Fact]
    public async Task A_certificate_revokes_itself_and_then_no_longer_authenticates()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 issued = await AuthenticationTests.IssueFromDeviceAsync(f);
        Requester holder = await f.AuthenticateAsync(issued);
        Assert.Equal(RequesterTrust.ThisCa, holder.Trust);

        RevocationOutcome outcome = await f.Service.RevokeAsync(holder, issued.SerialNumber.ToLowerInvariant(), RevocationReasons.KeyCompromise, CancellationToken.None);
        Assert.Equal(RevocationOutcomeStatus.Revoked, outcome.Status);
        StoredCertificate stored = (await f.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!;
        Assert.Equal((CertificateStatus.Revoked, (int?)RevocationReasons.KeyCompromise), (stored.Status, stored.RevocationReason));
        AuditEntry audit = (await f.Store.ListAuditAsync(1, CancellationToken.None))[0];
        Assert.Equal(("revoke", holder.Name), (audit.Action, audit.Actor));

        AuthenticationResult again = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(issued), CancellationToken.None);
        Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, again.Failure);
        Assert.Contains(issued.SerialNumber, (await f.Store.ListRevokedAsync(CancellationToken.None)).Select(r => r.SerialNumber));
    }

    [Fact]
    public async Task The_identity_a_certificate_belongs_to_revokes_it_once()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 issued = await AuthenticationTests.IssueFromDeviceAsync(f);
        using X509Certificate2 device = f.DeviceCertificate();
        Requester idevid = await f.AuthenticateAsync(device);
        Assert.Equal(RequesterTrust.Manufacturer, idevid.Trust);

        Assert.Equal(RevocationOutcomeStatus.Revoked, (await f.Service.RevokeAsync(idevid, issued.SerialNumber, RevocationReasons.Superseded, CancellationToken.None)).Status);
        RevocationOutcome again = await f.Service.RevokeAsync(idevid, issued.SerialNumber, RevocationReasons.KeyCompromise, CancellationToken.None);
        Assert.Equal(RevocationOutcomeStatus.AlreadyRevoked, again.Status);
        Assert.Contains("revoked before", again.Detail, StringComparison.Ordinal);
        Assert.Contains("(superseded)", again.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_renewed_device_revokes_its_earlier_certificate_with_its_current_one()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 first = await AuthenticationTests.IssueFromDeviceAsync(f);
        using X509Certificate2 second = await AuthenticationTests.IssueFromDeviceAsync(f);
        Requester current = await f.AuthenticateAsync(second);
        Assert.Equal(RevocationOutcomeStatus.Revoked, (await f.Service.RevokeAsync(current, first.SerialNumber, RevocationReasons.CessationOfOperation, CancellationToken.None)).Status);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(second.SerialNumber, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task Devices_enrolled_with_one_shared_secret_do_not_revoke_each_other_and_the_secret_revokes_none()
    {
        // One secret for a batch (or the demo secret): the certificates share its identity, but each revokes only itself
        // (RFC 9483 §4.2: an rr is signed with the certificate to be revoked), and a MAC with the secret revokes nothing.
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        AuthenticationResult secret = await f.Service.AuthenticateAsync(PeerIdentity.SharedSecret("cmp-coap", "batch", new SharedSecretGrant { AnyName = true }), CancellationToken.None);
        Requester batch = secret.Requester!;
        using EnrollmentOutcome a = await f.Service.EnrollAsync(EnrollmentFixture.Request(batch, EnrollmentFixture.Csr("CN=device-a")), CancellationToken.None);
        using EnrollmentOutcome b = await f.Service.EnrollAsync(EnrollmentFixture.Request(batch, EnrollmentFixture.Csr("CN=device-b")), CancellationToken.None);
        Requester deviceA = await f.AuthenticateAsync(a.Certificate!);
        Assert.Equal((RequesterTrust.ThisCa, batch.Identity), (deviceA.Trust, deviceA.Identity));

        Assert.Equal(RevocationOutcomeStatus.Refused, (await f.Service.RevokeAsync(deviceA, b.Certificate!.SerialNumber, RevocationReasons.KeyCompromise, CancellationToken.None)).Status);
        Assert.Equal(RevocationOutcomeStatus.Refused, (await f.Service.RevokeAsync(batch, b.Certificate!.SerialNumber, RevocationReasons.KeyCompromise, CancellationToken.None)).Status);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(b.Certificate!.SerialNumber, CancellationToken.None))!.Status);

        Assert.Equal(RevocationOutcomeStatus.Revoked, (await f.Service.RevokeAsync(deviceA, a.Certificate!.SerialNumber, RevocationReasons.KeyCompromise, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task Another_device_is_refused_and_cannot_tell_an_unknown_serial_from_a_certificate_it_does_not_own()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 victim = await AuthenticationTests.IssueFromDeviceAsync(f);
        using X509Certificate2 otherDevice = f.ManufacturerDevice("CN=other-device");
        Requester otherIdevid = await f.AuthenticateAsync(otherDevice);
        using EnrollmentOutcome enrolled = await f.Service.EnrollAsync(EnrollmentFixture.Request(otherIdevid, EnrollmentFixture.Csr("CN=other-device")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, enrolled.Status);
        Requester otherLdevid = await f.AuthenticateAsync(enrolled.Certificate!);

        foreach (Requester intruder in new[] { otherIdevid, otherLdevid })
        {
            RevocationOutcome someoneElses = await f.Service.RevokeAsync(intruder, victim.SerialNumber, RevocationReasons.KeyCompromise, CancellationToken.None);
            RevocationOutcome unknown = await f.Service.RevokeAsync(intruder, "0123456789ABCDEF0123456789ABCDEF", RevocationReasons.KeyCompromise, CancellationToken.None);
            Assert.Equal(RevocationOutcomeStatus.Refused, someoneElses.Status);
            Assert.Equal(someoneElses, unknown);
        }

        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(victim.SerialNumber, CancellationToken.None))!.Status);
        AuditEntry audit = (await f.Store.ListAuditAsync(1, CancellationToken.None))[0];
        Assert.Equal(("rejected-revocation", otherLdevid.Name), (audit.Action, audit.Actor));
    }

    [Theory]
    [InlineData("not-hex", RevocationReasons.KeyCompromise, "hex digits")]
    [InlineData("", RevocationReasons.KeyCompromise, "hex digits")]
    [InlineData(null, 7, "CRLReason")]
    [InlineData(null, 8, "CRLReason")]
    [InlineData(null, 11, "CRLReason")]
    public async Task Malformed_requests_are_refused(string? serial, int reason, string detail)
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 issued = await AuthenticationTests.IssueFromDeviceAsync(f);
        Requester holder = await f.AuthenticateAsync(issued);
        RevocationOutcome outcome = await f.Service.RevokeAsync(holder, serial ?? issued.SerialNumber, reason, CancellationToken.None);
        Assert.Equal(RevocationOutcomeStatus.Refused, outcome.Status);
        Assert.Contains(detail, outcome.Detail, StringComparison.Ordinal);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.Status);
    }
}
