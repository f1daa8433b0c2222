using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// The rules of EnrollmentService.AuthorizeAsync, one test per rule and a negative test for every check that protects: proof of
/// possession, its link to the channel (RFC 7030 §3.5, RFC 7627 §6.1), re-enrollment (RFC 7030 §4.2.2). Every refusal is stored.
/// </summary>
public sealed class AuthorizationTests
{
    [Fact]
    public async Task A_manufacturer_device_enrolls()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 issued = await AuthenticationTests.IssueFromDeviceAsync(f);
        Assert.Equal("CN=demo-device-1", issued.Subject);
    }

    [Fact]
    public async Task A_request_whose_signature_does_not_verify_is_refused_and_stored()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        byte[] csr = EnrollmentFixture.Csr("CN=demo-device-1");
        csr[^1] ^= 0x01;
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, csr), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Refused, outcome.Status);
        Assert.Equal(RejectionReason.BadSignature, outcome.Reason);
        Assert.Equal("the PKCS#10 signature does not verify", outcome.Detail);
        StoredRequest stored = Assert.Single(await f.RejectedAsync());
        Assert.Equal("/sen: the PKCS#10 signature does not verify", stored.ReasonDetail);
        Assert.Equal(csr, stored.CsrDer);
    }

    [Fact]
    public async Task A_matching_channel_binding_claim_links_the_request_to_the_channel()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(o => o.RequireProofOfPossessionLinking = true);
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1", EnrollmentFixture.Claim()), claim: EnrollmentFixture.Claim()), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
    }

    [Fact]
    public async Task A_claim_of_another_channel_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        string other = Convert.ToBase64String(new byte[12]);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1", other), claim: other), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, outcome.Reason);
        Assert.Equal("the challengePassword does not match the tls-unique value of this DTLS session (RFC 7030 section 3.5)", outcome.Detail);
        Assert.Single(await f.RejectedAsync());
    }

    [Fact]
    public async Task A_linked_request_repeated_in_a_new_session_gets_the_certificate_issued_in_the_first()
    {
        // The answer to a linked /sen is lost (the server was killed after it stored the certificate); the device repeats the
        // same CSR in a new session, whose tls-unique differs from the claim: it gets the stored certificate, nothing new is issued.
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        byte[] csr = EnrollmentFixture.Csr("CN=demo-device-1", EnrollmentFixture.Claim());
        using EnrollmentOutcome first = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(await f.AuthenticateAsync(device), csr, claim: EnrollmentFixture.Claim()), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, first.Status);

        Requester inNewSession = await f.AuthenticateAsync(device, ChannelBinding.TlsUnique("DTLS", new byte[12]));
        using EnrollmentOutcome repeated = await f.Service.EnrollAsync(EnrollmentFixture.Request(inNewSession, csr, claim: EnrollmentFixture.Claim()), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, repeated.Status);
        Assert.Equal(first.Certificate!.RawData, repeated.Certificate!.RawData);
        Assert.Single(await f.Store.ListCertificatesAsync(100, CancellationToken.None));
        Assert.Empty(await f.RejectedAsync());
    }

    [Fact]
    public async Task A_linked_request_never_accepted_before_is_still_refused_in_another_session()
    {
        // Only a request this CA accepted is answered from the store: the same CSR refused once (another session's claim) is
        // refused again, and a new CSR with another session's claim is refused, whatever was issued to the same device before.
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester other = await f.AuthenticateAsync(device, ChannelBinding.TlsUnique("DTLS", new byte[12]));
        using EnrollmentOutcome issued = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(await f.AuthenticateAsync(device), EnrollmentFixture.Csr("CN=demo-device-1", EnrollmentFixture.Claim()), claim: EnrollmentFixture.Claim()),
            CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);

        byte[] csr = EnrollmentFixture.Csr("CN=demo-device-1", EnrollmentFixture.Claim());
        for (int attempt = 0; attempt < 2; attempt++)
        {
            using EnrollmentOutcome refused = await f.Service.EnrollAsync(EnrollmentFixture.Request(other, csr, claim: EnrollmentFixture.Claim()), CancellationToken.None);
            Assert.Equal(RejectionReason.NotAuthorized, refused.Reason);
            Assert.Equal("the challengePassword does not match the tls-unique value of this DTLS session (RFC 7030 section 3.5)", refused.Detail);
        }

        Assert.Equal(2, (await f.RejectedAsync()).Count);
        Assert.Single(await f.Store.ListCertificatesAsync(100, CancellationToken.None));
    }

    [Fact]
    public async Task A_claim_over_a_channel_without_extended_master_secret_is_refused_even_when_it_matches()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device, ChannelBinding.NonUniqueTlsUnique("DTLS"));
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1", EnrollmentFixture.Claim()), claim: EnrollmentFixture.Claim()), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, outcome.Reason);
        Assert.Equal("linking of identity and POP information needs a DTLS session with extended_master_secret: without it tls-unique is not unique to the session (RFC 7627 section 6.1)", outcome.Detail);
    }

    [Fact]
    public async Task Without_a_claim_a_channel_without_extended_master_secret_is_fine_unless_linking_is_required()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device, ChannelBinding.NonUniqueTlsUnique("DTLS"));
        using EnrollmentOutcome issued = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);

        await using EnrollmentFixture strict = await EnrollmentFixture.CreateAsync(o => o.RequireProofOfPossessionLinking = true);
        using X509Certificate2 again = strict.DeviceCertificate();
        Requester legacy = await strict.AuthenticateAsync(again, ChannelBinding.NonUniqueTlsUnique("DTLS"));
        using EnrollmentOutcome refused = await strict.Service.EnrollAsync(EnrollmentFixture.Request(legacy, EnrollmentFixture.Csr("CN=demo-device-1")), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, refused.Reason);
        Assert.Contains("extended_master_secret", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_linking_is_required_a_request_without_a_claim_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(o => o.RequireProofOfPossessionLinking = true);
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1")), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, outcome.Reason);
        Assert.Equal("linking of identity and POP information is required: put base64(tls-unique) in challengePassword (RFC 7030 section 3.5)", outcome.Detail);
    }

    [Fact]
    public async Task A_manufacturer_certificate_cannot_reenroll()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr(device.Subject), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, outcome.Reason);
        Assert.Equal("re-enrollment needs a current certificate issued by this CA", outcome.Detail);
        Assert.Null(Assert.Single(await f.RejectedAsync()).ReplacesSerialNumber);
    }

    // The demo device's certificates carry no subjectAltName: a profile that gives it one from a template, for the tests that renew one.
    private static Task<EnrollmentFixture> WithDnsNameTemplateAsync() => EnrollmentFixture.CreateAsync(configureCa: ca => ca.Profiles = new()
    {
        ["default"] = new CertificateProfileOptions { SubjectAltNameTemplates = ["DNS:{CN}.example"] },
    });

    [Fact]
    public async Task Reenrollment_replaces_the_current_certificate_which_then_no_longer_authenticates()
    {
        await using EnrollmentFixture f = await WithDnsNameTemplateAsync();
        using X509Certificate2 current = await AuthenticationTests.IssueFromDeviceAsync(f, "CN=demo-device-1", "demo-device-1.example");
        Requester requester = await f.AuthenticateAsync(current);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1", dnsNames: "demo-device-1.example"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(current.SerialNumber, CancellationToken.None))!.Status);
        Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, (await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(current), CancellationToken.None)).Failure);
    }

    [Fact]
    public async Task Reenrollment_for_another_subject_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 current = await AuthenticationTests.IssueFromDeviceAsync(f);
        Requester requester = await f.AuthenticateAsync(current);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-2"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, outcome.Reason);
        Assert.Equal("the CSR subject differs from the certificate being renewed (RFC 7030 section 4.2.2)", outcome.Detail);
        Assert.Equal(current.SerialNumber, Assert.Single(await f.RejectedAsync()).ReplacesSerialNumber);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(current.SerialNumber, CancellationToken.None))!.Status);
    }

    [Theory]
    [InlineData(null)] // the current certificate has a SAN, the request none
    [InlineData("dev2.example")] // a different SAN
    public async Task Reenrollment_with_another_subjectAltName_is_refused(string? name)
    {
        string[] requested = name is null ? [] : [name];
        await using EnrollmentFixture f = await WithDnsNameTemplateAsync();
        using X509Certificate2 current = await AuthenticationTests.IssueFromDeviceAsync(f, "CN=demo-device-1", "demo-device-1.example");
        Requester requester = await f.AuthenticateAsync(current);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1", dnsNames: requested), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, outcome.Reason);
        Assert.Equal("the CSR subjectAltName differs from the certificate being renewed (RFC 7030 section 4.2.2)", outcome.Detail);
    }

    [Fact]
    public async Task Reenrollment_adding_a_subjectAltName_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 current = await AuthenticationTests.IssueFromDeviceAsync(f);
        Requester requester = await f.AuthenticateAsync(current);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1", dnsNames: "demo-device-1.example"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, outcome.Reason);
    }
}
