using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Testing;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// Registrars (RFC 7030 §3.7) through EnrollmentService alone: a client certificate with id-kp-cmcRA (RFC 6402 §2.10) from this
/// CA or a trusted registrar CA submits requests for devices; the server trusts its authentication and proof-of-possession check,
/// keeps its own name rules, and records the registrar and the device. Anything else with the RA usage is no registrar.
/// </summary>
public sealed class RegistrarTests
{
    [Fact]
    public async Task A_registrar_of_this_CA_enrolls_a_device_name_without_linking_to_its_own_channel()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(o => o.RequireProofOfPossessionLinking = true);
        using X509Certificate2 ra = await IssueRegistrarAsync(f, "CN=edge-1");
        Requester registrar = await f.AuthenticateAsync(ra);
        Assert.Equal(RequesterTrust.Registrar, registrar.Trust);

        // The device's challengePassword is the tls-unique of its own session with the registrar, not of the registrar's session.
        byte[] csr = EnrollmentFixture.Csr("CN=sensor-7", challengePassword: "bm90LXRoaXMtY2hhbm5lbA==", dnsNames: "sensor-7.example");
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(registrar, csr), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
        Assert.Equal("CN=sensor-7", outcome.Certificate!.Subject);

        StoredRequest stored = (await f.Store.GetRequestAsync(outcome.RequestId!.Value, CancellationToken.None))!;
        string device = EnrollmentService.DeviceIdentityOf(new X500DistinguishedName("CN=sensor-7"));
        Assert.Equal((registrar.Name, device, registrar.Name), (stored.Requester, stored.Identity, stored.Registrar));
        Assert.Equal(device, (await f.Store.GetCertificateAsync(outcome.Certificate.SerialNumber, CancellationToken.None))!.Identity);
        Assert.Contains(await f.Store.ListAuditAsync(10, CancellationToken.None),
            a => a.Action == "issue" && a.Details.Contains($"via registrar {registrar.Name}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_repeat_of_the_same_request_through_the_registrar_gets_the_same_certificate()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 ra = await IssueRegistrarAsync(f, "CN=edge-1");
        Requester registrar = await f.AuthenticateAsync(ra);
        byte[] csr = EnrollmentFixture.Csr("CN=sensor-7");
        using EnrollmentOutcome first = await f.Service.EnrollAsync(EnrollmentFixture.Request(registrar, csr), CancellationToken.None);
        using EnrollmentOutcome again = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(ra), csr), CancellationToken.None);
        Assert.True(again.Repeated);
        Assert.Equal(first.Certificate!.SerialNumber, again.Certificate!.SerialNumber);
    }

    [Theory]
    [InlineData("CN=localhost", RejectionReason.ReservedName, "")]
    [InlineData("O=Example", RejectionReason.NameNotBoundToRequester, "name not bound to a device: a request through a registrar names its device by a CN or a serialNumber")]
    public async Task The_profile_s_name_rules_still_apply_to_a_registrar(string subject, RejectionReason reason, string detail)
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 ra = await IssueRegistrarAsync(f, "CN=edge-1");
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(ra), EnrollmentFixture.Csr(subject)), CancellationToken.None);
        Assert.Equal((EnrollmentStatus.Refused, reason), (outcome.Status, outcome.Reason));
        Assert.StartsWith(detail, outcome.Detail, StringComparison.Ordinal);
        StoredRequest stored = Assert.Single(await f.RejectedAsync());
        Assert.NotNull(stored.Registrar);
    }

    [Fact]
    public async Task A_registrar_cannot_take_a_name_a_device_holds_that_enrolled_itself()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        using EnrollmentOutcome own = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(device), EnrollmentFixture.Csr("CN=demo-device-1")),
            CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, own.Status);

        using X509Certificate2 ra = await IssueRegistrarAsync(f, "CN=edge-1");
        Requester registrar = await f.AuthenticateAsync(ra);
        using EnrollmentOutcome taken = await f.Service.EnrollAsync(EnrollmentFixture.Request(registrar, EnrollmentFixture.Csr("CN=demo-device-1")), CancellationToken.None);
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, taken.Reason);

        // Nor renew it: the device's current certificate is its own identity's, not one obtained through a registrar.
        using EnrollmentOutcome renewal = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(registrar, EnrollmentFixture.Csr("CN=demo-device-1"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, renewal.Reason);
        Assert.Contains("re-enrollment through a registrar needs an active certificate", renewal.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registrar_re_enrolls_a_device_it_enrolled_and_the_old_certificate_is_superseded()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 ra = await IssueRegistrarAsync(f, "CN=edge-1");
        Requester registrar = await f.AuthenticateAsync(ra);
        using EnrollmentOutcome first = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(registrar, EnrollmentFixture.Csr("CN=sensor-7", dnsNames: "sensor-7.example")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, first.Status);

        // A new key, the same names: renewed; the old certificate is superseded. Another registrar of this CA may do it too.
        using X509Certificate2 other = await IssueRegistrarAsync(f, "CN=edge-2");
        using EnrollmentOutcome renewed = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(other),
            EnrollmentFixture.Csr("CN=sensor-7", dnsNames: "sensor-7.example"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, renewed.Status);
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(first.Certificate!.SerialNumber, CancellationToken.None))!.Status);
        StoredRequest stored = (await f.Store.GetRequestAsync(renewed.RequestId!.Value, CancellationToken.None))!;
        Assert.Equal(first.Certificate.SerialNumber, stored.ReplacesSerialNumber);

        // Other subjectAltNames, or a subject no device holds through a registrar: no certificate to renew.
        using EnrollmentOutcome otherNames = await f.Service.EnrollAsync(EnrollmentFixture.Request(registrar,
            EnrollmentFixture.Csr("CN=sensor-7", dnsNames: "other.example"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, otherNames.Reason);
        using EnrollmentOutcome unknown = await f.Service.EnrollAsync(EnrollmentFixture.Request(registrar,
            EnrollmentFixture.Csr("CN=sensor-8"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(RejectionReason.NotAuthorized, unknown.Reason);
    }

    [Fact]
    public async Task A_device_certificate_without_the_RA_usage_asking_for_another_name_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        Assert.Equal(RequesterTrust.Manufacturer, requester.Trust);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=sensor-7")), CancellationToken.None);
        Assert.Equal(RejectionReason.NameNotBoundToRequester, outcome.Reason);
        Assert.Null(Assert.Single(await f.RejectedAsync()).Registrar);
    }

    [Fact]
    public async Task An_RA_certificate_of_a_manufacturer_CA_is_no_registrar()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 ra = WithRaUsage(f.Hierarchy.Layout.ManufacturerCaCertificate, f.Hierarchy.Layout.ManufacturerCaKey, "CN=edge-9");
        Requester requester = await f.AuthenticateAsync(ra);
        Assert.Equal(RequesterTrust.Manufacturer, requester.Trust);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=sensor-7")), CancellationToken.None);
        Assert.Equal(RejectionReason.NameNotBoundToRequester, outcome.Reason);
    }

    [Fact]
    public async Task With_registrars_of_this_CA_not_trusted_an_RA_certificate_of_this_CA_is_a_device()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(o => o.TrustRegistrarsOfThisCa = false);
        using X509Certificate2 ra = await IssueRegistrarAsync(f, "CN=edge-1");
        Requester requester = await f.AuthenticateAsync(ra);
        Assert.Equal(RequesterTrust.ThisCa, requester.Trust);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=sensor-7")), CancellationToken.None);
        Assert.Equal(RejectionReason.NameNotBoundToRequester, outcome.Reason);
    }

    [Fact]
    public async Task A_revoked_registrar_certificate_authenticates_no_one()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 ra = await IssueRegistrarAsync(f, "CN=edge-1");
        await f.Authority.RevokeAsync(ra.SerialNumber, RevocationReasons.KeyCompromise, "operator:test", CancellationToken.None);
        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(ra), CancellationToken.None);
        Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, result.Failure);
    }

    [Fact]
    public async Task A_trusted_registrar_CA_makes_its_RA_certificates_registrars_and_its_other_certificates_no_one()
    {
        using var directory = new TempDirectory("coapenroll-registrar-ca-");
        string caCert = Path.Combine(directory.Path, "registrar-ca.pem");
        string caKey = Path.Combine(directory.Path, "registrar-ca.key");
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=Registrar CA", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            using X509Certificate2 ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllTextAsync(caCert, ca.ExportCertificatePem());
            await File.WriteAllTextAsync(caKey, key.ExportPkcs8PrivateKeyPem());
        }

        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(configureCa: o => o.TrustedRegistrarCaFiles = [caCert]);
        Assert.Contains(f.Service.TrustPolicy.ClientTrustAnchors, c => c.Subject == "CN=Registrar CA");
        using X509Certificate2 ra = WithRaUsage(caCert, caKey, "CN=edge-remote");
        Requester registrar = await f.AuthenticateAsync(ra);
        Assert.Equal((RequesterTrust.Registrar, registrar.Name), (registrar.Trust, registrar.Identity));
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(registrar, EnrollmentFixture.Csr("CN=sensor-7")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);

        using X509Certificate2 plain = WithRaUsage(caCert, caKey, "CN=not-an-ra", raUsage: false);
        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(plain), CancellationToken.None);
        Assert.Equal(AuthenticationFailure.UntrustedCertificate, result.Failure);
    }

    [Fact]
    public async Task A_request_signed_with_an_RA_certificate_is_no_registrar_request()
    {
        // RFC 7030 §3.7 registrars authenticate the channel; a signed message (CMP) with an RA certificate is judged as a device.
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 ra = await IssueRegistrarAsync(f, "CN=edge-1");
        AuthenticationResult result = await f.Service.AuthenticateAsync(PeerIdentity.SignedMessage("cmp", [ra]), CancellationToken.None);
        Assert.Equal(RequesterTrust.ThisCa, result.Requester!.Trust);
    }

    private static async Task<X509Certificate2> IssueRegistrarAsync(EnrollmentFixture f, string subject)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        IssuanceResult result = await f.Authority.IssueRegistrarCertificateAsync(EnrollmentFixture.Csr(subject, key: key), "operator:test", 30, CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, result.Status);
        return result.Certificate!.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 WithRaUsage(string caCertificate, string caKey, string subject, bool raUsage = true)
    {
        using X509Certificate2 issuer = X509Certificate2.CreateFromPemFile(caCertificate, caKey);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(raUsage
            ? new OidCollection { new Oid("1.3.6.1.5.5.7.3.28"), new Oid("1.3.6.1.5.5.7.3.2") }
            : new OidCollection { new Oid("1.3.6.1.5.5.7.3.2") }, false));
        using X509Certificate2 certificate = request.Create(issuer, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(9));
        return certificate.CopyWithPrivateKey(key);
    }
}
