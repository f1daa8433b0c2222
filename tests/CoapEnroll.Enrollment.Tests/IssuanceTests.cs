using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>What EnrollmentService.IssueAsync adds to the CA: idempotency per requester, operation and profile; key generation; pending.</summary>
public sealed class IssuanceTests
{
    [Fact]
    public async Task A_repeated_request_gets_the_stored_certificate()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        byte[] csr = EnrollmentFixture.Csr("CN=demo-device-1");
        using EnrollmentOutcome first = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, csr), CancellationToken.None);
        using EnrollmentOutcome again = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(device), csr), CancellationToken.None);
        Assert.False(first.Repeated);
        Assert.True(again.Repeated);
        Assert.Equal(first.Certificate!.RawData, again.Certificate!.RawData);
    }

    [Fact]
    public async Task The_same_request_to_another_operation_is_another_request()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        byte[] csr = EnrollmentFixture.Csr("CN=demo-device-1");
        EnrollmentAuthorization sen = await f.Service.AuthorizeAsync(EnrollmentFixture.Request(requester, csr), CancellationToken.None);
        EnrollmentAuthorization other = await f.Service.AuthorizeAsync(new EnrollmentRequest
        {
            Requester = requester,
            Operation = EnrollmentOperation.Enroll,
            OperationName = "p10cr",
            Request = EnrollmentFixture.Decode(csr),
        }, CancellationToken.None);
        Assert.Equal(IssuanceRequest.ComputeRequestKey(csr, $"{requester.Name}|sen|default"), sen.RequestKey);
        Assert.NotEqual(sen.RequestKey, other.RequestKey);
    }

    [Fact]
    public async Task Server_key_generation_certifies_a_generated_key_ignores_the_request_signature_and_repeats_it()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        byte[] csr = EnrollmentFixture.Csr("CN=demo-device-1");
        csr[^1] ^= 0x01; // RFC 9148 §4.8: the signature is ignored
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, csr, EnrollmentOperation.ServerKeyGeneration), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
        Assert.NotNull(outcome.GeneratedKey);
        Assert.Equal(outcome.GeneratedKey!.ExportSubjectPublicKeyInfo(), outcome.Certificate!.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.NotEqual(EnrollmentFixture.Decode(csr).PublicKey!.ExportSubjectPublicKeyInfo(), outcome.Certificate.PublicKey.ExportSubjectPublicKeyInfo());

        using EnrollmentOutcome again = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, csr, EnrollmentOperation.ServerKeyGeneration), CancellationToken.None);
        Assert.True(again.Repeated);
        Assert.Equal(outcome.GeneratedKey.ExportPkcs8PrivateKey(), again.GeneratedKey!.ExportPkcs8PrivateKey());
    }

    [Fact]
    public async Task A_request_for_a_profile_that_needs_approval_is_pending_with_the_retry_time()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(o => o.PendingRetryAfter = TimeSpan.FromSeconds(7),
            ca => ca.Profiles = new() { ["default"] = new CertificateProfileOptions { RequiresApproval = true } });
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Pending, outcome.Status);
        Assert.Equal(TimeSpan.FromSeconds(7), outcome.RetryAfter);
        Assert.NotNull(outcome.RequestId);
    }

    [Fact]
    public async Task The_proof_of_possession_is_verified_once_per_request()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        CertificationRequest decoded = EnrollmentFixture.Decode(EnrollmentFixture.Csr("CN=demo-device-1"));
        var proof = new CountingProof(decoded.ProofOfPossession!);
        var request = new CertificationRequest(decoded.Format, decoded.Encoded, decoded.Subject, decoded.PublicKey, decoded.RequestedExtensions, decoded.Attributes, proof);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(new EnrollmentRequest
        {
            Requester = requester,
            Operation = EnrollmentOperation.Enroll,
            OperationName = "sen",
            Request = request,
        }, CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
        Assert.Equal(1, proof.Calls);
    }

    [Fact]
    public async Task A_refused_authorization_cannot_be_issued()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        EnrollmentAuthorization refused = await f.Service.AuthorizeAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.False(refused.IsAuthorized);
        await Assert.ThrowsAsync<ArgumentException>(() => f.Service.IssueAsync(refused, CancellationToken.None));
    }

    private sealed class CountingProof(ProofOfPossession inner) : ProofOfPossession
    {
        public int Calls { get; private set; }

        public override ProofOfPossessionMethod Method => inner.Method;

        protected override ProofOfPossessionResult CheckCore()
        {
            Calls++;
            return inner.Check();
        }
    }
}
