using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// Who may get which name (issue 19 section 1), through EnrollmentService alone: names bound to the authenticated requester under
/// the default profile, reserved names, one holder per name, and each relaxation a profile may choose. Every refusal is stored.
/// The demo device is serialNumber=DEMO-0001, CN=demo-device-1, O=CoapEnroll Demo Manufacturer, from the demo manufacturer CA.
/// </summary>
public sealed class NameTests
{
    private const string NotBoundPrefix = "name not bound to the requester: ";

    [Theory]
    [InlineData("CN=demo-device-1")] // as serve prints it
    [InlineData("SERIALNUMBER=DEMO-0001")]
    [InlineData("SERIALNUMBER=DEMO-0001, CN=demo-device-1")]
    [InlineData("CN=demo-device-1, SERIALNUMBER=DEMO-0001")]
    [InlineData("SERIALNUMBER=DEMO-0001, CN=demo-device-1, O=CoapEnroll Demo Manufacturer")]
    public async Task The_device_gets_its_own_name(string subject)
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using EnrollmentOutcome outcome = await EnrollAsDeviceAsync(f, subject);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
        Assert.Empty(await f.RejectedAsync());
    }

    [Theory]
    [InlineData("SERIALNUMBER=DEMO-0002, CN=demo-device-2", "CN 'demo-device-2' is not the client certificate's CN 'demo-device-1'")]
    [InlineData("CN=demo-device-2", "CN 'demo-device-2' is not the client certificate's CN 'demo-device-1'")]
    [InlineData("SERIALNUMBER=DEMO-0002, CN=demo-device-1", "serialNumber 'DEMO-0002' is not the client certificate's serialNumber 'DEMO-0001'")]
    [InlineData("CN=Demo-Device-1", "CN 'Demo-Device-1' is not the client certificate's CN 'demo-device-1'")]
    [InlineData("CN=demo-device-1, O=Evil", "O 'Evil' is not the client certificate's O 'CoapEnroll Demo Manufacturer'")]
    [InlineData("CN=demo-device-1, OU=Admins", "OU 'Admins' is not in the client certificate's subject")]
    [InlineData("O=CoapEnroll Demo Manufacturer", "the subject has neither a CN nor a serialNumber to bind it to the client certificate")]
    [InlineData("C=DE", "the subject has neither a CN nor a serialNumber to bind it to the client certificate")]
    public async Task Another_name_than_the_device_s_own_is_refused_and_stored(string subject, string why)
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        byte[] csr = EnrollmentFixture.Csr(subject);
        using EnrollmentOutcome outcome = await EnrollAsDeviceAsync(f, csr);
        string expected = $"{NotBoundPrefix}{why}, and no subject template or allowed subject of profile 'default' matches it";
        AssertRefused(outcome, RejectionReason.NameNotBoundToRequester, expected);
        StoredRequest stored = Assert.Single(await f.RejectedAsync());
        Assert.Equal(RejectionReason.NameNotBoundToRequester, stored.RejectionReason);
        Assert.Equal("/sen: " + expected, stored.ReasonDetail);
        Assert.Equal(csr, stored.CsrDer);
        Assert.Empty(await f.Store.ListCertificatesAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task A_subjectAltName_the_client_certificate_lacks_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using EnrollmentOutcome outcome = await EnrollAsDeviceAsync(f, EnrollmentFixture.Csr("CN=demo-device-1", dnsNames: "demo-device-1.example"));
        AssertRefused(outcome, RejectionReason.NameNotBoundToRequester, NotBoundPrefix
            + "subjectAltName DNS:demo-device-1.example is not in the client certificate, and no subjectAltName template or allowed subjectAltName of profile 'default' matches it");
        Assert.Single(await f.RejectedAsync());
    }

    [Fact]
    public async Task A_subjectAltName_the_client_certificate_carries_is_issued_and_no_other()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.ManufacturerDevice("SERIALNUMBER=DEMO-0003, CN=demo-device-3", "demo-device-3.example");
        Requester requester = await f.AuthenticateAsync(device);
        using EnrollmentOutcome issued = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-3", dnsNames: "DEMO-DEVICE-3.example")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);

        using EnrollmentOutcome refused = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-3", dnsNames: ["demo-device-3.example", "other.example"])), CancellationToken.None);
        Assert.Equal(RejectionReason.NameNotBoundToRequester, refused.Reason);
        Assert.Contains("subjectAltName DNS:other.example", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_key_generation_applies_the_same_binding()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        using EnrollmentOutcome refused = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("SERIALNUMBER=DEMO-0002, CN=demo-device-2"), EnrollmentOperation.ServerKeyGeneration), CancellationToken.None);
        Assert.Equal(RejectionReason.NameNotBoundToRequester, refused.Reason);
        Assert.StartsWith("/skg: " + NotBoundPrefix, Assert.Single(await f.RejectedAsync()).ReasonDetail, StringComparison.Ordinal);

        using EnrollmentOutcome issued = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1"), EnrollmentOperation.ServerKeyGeneration), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);
    }

    [Fact]
    public async Task A_certificate_of_this_CA_is_bound_to_its_own_names_for_enrollment_and_reenrollment()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 current = await AuthenticationTests.IssueFromDeviceAsync(f, "CN=demo-device-1");
        Requester requester = await f.AuthenticateAsync(current);

        // Its certificate of this CA carries no serialNumber any more: DEMO-0001 is not bound to it.
        using EnrollmentOutcome refused = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("SERIALNUMBER=DEMO-0001, CN=demo-device-1")),
            CancellationToken.None);
        Assert.Equal(RejectionReason.NameNotBoundToRequester, refused.Reason);

        using EnrollmentOutcome again = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, again.Status);
        using EnrollmentOutcome renewed = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=demo-device-1"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, renewed.Status);
    }

    // ---- reserved names ---------------------------------------------------------------------------------------------------

    public static TheoryData<string, string> ReservedSubjects() => new()
    {
        { "CN=CoapEnroll Demo Issuing CA, O=CoapEnroll", "reserved name: the subject is the issuing CA's name, which this CA never issues" },
        { "CN=CoapEnroll Demo Root CA, O=CoapEnroll", "reserved name: the subject is the root CA's name, which this CA never issues" },
        { "CN=localhost, O=CoapEnroll", "reserved name: the subject is this server's name, which this CA never issues" },
        { "O=CoapEnroll, CN=coapenroll  demo issuing ca", "reserved name: the subject is the issuing CA's name, which this CA never issues" },
        { "CN=CoapEnroll Demo Manufacturer CA, O=CoapEnroll Demo Manufacturer", "reserved name: the subject is a trusted manufacturer CA's name, which this CA never issues" },
        { "CN=localhost", "reserved name: CN 'localhost' is a name of this server's certificate, which this CA never issues" },
        { "CN=127.0.0.1", "reserved name: CN '127.0.0.1' is a name of this server's certificate, which this CA never issues" },
        { "CN=::1", "reserved name: CN '::1' is a name of this server's certificate, which this CA never issues" },
    };

    [Theory]
    [MemberData(nameof(ReservedSubjects))]
    public async Task A_reserved_subject_is_refused_under_the_default_profile(string subject, string expected)
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using EnrollmentOutcome outcome = await EnrollAsDeviceAsync(f, subject);
        AssertRefused(outcome, RejectionReason.ReservedName, expected);
        Assert.Equal(RejectionReason.ReservedName, Assert.Single(await f.RejectedAsync()).RejectionReason);
    }

    [Theory]
    [MemberData(nameof(ReservedSubjects))]
    public async Task A_reserved_subject_is_refused_even_by_a_profile_that_issues_any_name(string subject, string expected)
    {
        await using EnrollmentFixture f = await WithProfileAsync(new CertificateProfileOptions { NamePolicy = NamePolicy.AnyName });
        using EnrollmentOutcome outcome = await EnrollAsDeviceAsync(f, subject);
        AssertRefused(outcome, RejectionReason.ReservedName, expected);
    }

    [Theory]
    [InlineData("localhost", "DNS:localhost")]
    [InlineData("LOCALHOST", "DNS:LOCALHOST")]
    [InlineData("127.0.0.1", "DNS:127.0.0.1")]
    public async Task A_subjectAltName_of_the_server_is_refused_even_by_a_profile_that_issues_any_name(string dnsName, string shown)
    {
        await using EnrollmentFixture f = await WithProfileAsync(new CertificateProfileOptions { NamePolicy = NamePolicy.AnyName });
        using EnrollmentOutcome outcome = await EnrollAsDeviceAsync(f, EnrollmentFixture.Csr("CN=demo-device-1", dnsNames: dnsName));
        AssertRefused(outcome, RejectionReason.ReservedName, $"reserved name: subjectAltName {shown} is a name of this server's certificate, which this CA never issues");
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task An_address_of_the_server_is_refused_as_subjectAltName(string address)
    {
        await using EnrollmentFixture f = await WithProfileAsync(new CertificateProfileOptions { NamePolicy = NamePolicy.AnyName });
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=demo-device-1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Parse(address));
        request.CertificateExtensions.Add(san.Build());
        using EnrollmentOutcome outcome = await EnrollAsDeviceAsync(f, request.CreateSigningRequest());
        AssertRefused(outcome, RejectionReason.ReservedName, $"reserved name: subjectAltName IP:{address} is a name of this server's certificate, which this CA never issues");
    }

    [Fact]
    public async Task A_reserved_name_obtained_before_the_rule_is_not_renewed()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 server = await StoreUncheckedAsync(f, "CN=localhost, O=CoapEnroll", "manufacturer-device sha256:00");
        Requester holder = await f.AuthenticateAsync(server);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(holder, EnrollmentFixture.Csr("CN=localhost, O=CoapEnroll"), EnrollmentOperation.Reenroll), CancellationToken.None);
        AssertRefused(outcome, RejectionReason.ReservedName, "reserved name: the subject is this server's name, which this CA never issues");
        Assert.Equal(server.SerialNumber, Assert.Single(await f.RejectedAsync()).ReplacesSerialNumber);
    }

    // ---- one holder per name ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_subject_held_by_another_requester_is_refused_and_stored()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using EnrollmentOutcome first = await EnrollAsDeviceAsync(f, "CN=demo-device-1");
        Assert.Equal(EnrollmentStatus.Issued, first.Status);

        // A second device whose IDevID carries the same CN (another manufacturer's numbering, or a clone).
        using X509Certificate2 twin = f.ManufacturerDevice("SERIALNUMBER=OTHER-7, CN=demo-device-1");
        Requester other = await f.AuthenticateAsync(twin);
        byte[] csr = EnrollmentFixture.Csr("CN=demo-device-1");
        using EnrollmentOutcome refused = await f.Service.EnrollAsync(EnrollmentFixture.Request(other, csr), CancellationToken.None);
        const string Expected = "name held by another requester: an active certificate of another requester has the subject CN=demo-device-1";
        AssertRefused(refused, RejectionReason.NameHeldByAnotherRequester, Expected);
        StoredRequest stored = Assert.Single(await f.RejectedAsync());
        Assert.Equal("/sen: " + Expected, stored.ReasonDetail);
        Assert.Equal(other.Name, stored.Requester);

        // The same name compared as the CA compares names: case and spacing do not make it another name.
        using EnrollmentOutcome folded = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(f.ManufacturerDevice("CN=DEMO-DEVICE-1")),
            EnrollmentFixture.Csr("CN=DEMO-DEVICE-1")), CancellationToken.None);
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, folded.Reason);
    }

    [Fact]
    public async Task The_same_device_may_hold_its_name_in_several_certificates()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using EnrollmentOutcome first = await EnrollAsDeviceAsync(f, "CN=demo-device-1");
        using EnrollmentOutcome second = await EnrollAsDeviceAsync(f, "CN=demo-device-1"); // another key, another request
        Assert.Equal(EnrollmentStatus.Issued, second.Status);
        Assert.False(second.Repeated);
        Assert.NotEqual(first.Certificate!.SerialNumber, second.Certificate!.SerialNumber);
    }

    [Fact]
    public async Task A_device_is_one_identity_from_its_IDevID_through_the_certificates_it_obtained()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester idevid = await f.AuthenticateAsync(device);
        using X509Certificate2 first = await AuthenticationTests.IssueFromDeviceAsync(f, "CN=demo-device-1");
        Requester ldevid = await f.AuthenticateAsync(first);
        Assert.NotEqual(idevid.Name, ldevid.Name);
        Assert.Equal(idevid.Identity, ldevid.Identity);
        Assert.Equal(idevid.Name, idevid.Identity);

        using EnrollmentOutcome renewed = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(ldevid, EnrollmentFixture.Csr("CN=demo-device-1"), EnrollmentOperation.Reenroll), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, renewed.Status);
        Requester third = await f.AuthenticateAsync(renewed.Certificate!);
        Assert.Equal(idevid.Identity, third.Identity);
        Assert.Equal(idevid.Identity, (await f.Store.GetCertificateAsync(renewed.Certificate!.SerialNumber, CancellationToken.None))!.Identity);

        // While this device holds the name, a twin cannot get it; the device itself still can, with its IDevID.
        using X509Certificate2 twin = f.ManufacturerDevice("CN=demo-device-1");
        using EnrollmentOutcome taken = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(twin), EnrollmentFixture.Csr("CN=demo-device-1")),
            CancellationToken.None);
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, taken.Reason);
        using EnrollmentOutcome own = await f.Service.EnrollAsync(EnrollmentFixture.Request(idevid, EnrollmentFixture.Csr("CN=demo-device-1")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, own.Status);
    }

    [Fact]
    public async Task A_name_whose_certificate_was_revoked_is_free_again()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using EnrollmentOutcome first = await EnrollAsDeviceAsync(f, "CN=demo-device-1");
        Assert.True(await f.Store.SetCertificateStatusAsync(first.Certificate!.SerialNumber, CertificateStatus.Revoked,
            new AuditEntry { Timestamp = DateTimeOffset.UtcNow, Actor = "test", Action = "revoke", Details = "lost" }, CancellationToken.None));
        using X509Certificate2 replacement = f.ManufacturerDevice("CN=demo-device-1");
        using EnrollmentOutcome second = await f.Service.EnrollAsync(
            EnrollmentFixture.Request(await f.AuthenticateAsync(replacement), EnrollmentFixture.Csr("CN=demo-device-1")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, second.Status);
    }

    [Fact]
    public async Task A_held_request_approved_after_another_requester_took_the_name_is_rejected()
    {
        await using EnrollmentFixture f = await WithProfileAsync(new CertificateProfileOptions { NamePolicy = NamePolicy.AnyNameHeldForApproval });
        using EnrollmentOutcome held = await EnrollAsDeviceAsync(f, "CN=shared-name");
        Assert.Equal(EnrollmentStatus.Pending, held.Status);

        using X509Certificate2 owner = f.ManufacturerDevice("CN=shared-name");
        using EnrollmentOutcome taken = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(owner), EnrollmentFixture.Csr("CN=shared-name")),
            CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, taken.Status);

        IssuanceResult approved = await f.Authority.ApproveAsync(held.RequestId!.Value, "operator", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Rejected, approved.Status);
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, approved.Reason);
    }

    // ---- relaxations ------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_subject_template_admits_the_names_it_makes_from_the_client_certificate_and_no_others()
    {
        await using EnrollmentFixture f = await WithProfileAsync(new CertificateProfileOptions { SubjectTemplates = ["serialNumber={serialNumber}, CN={CN}, O=Example Devices"] });
        using EnrollmentOutcome issued = await EnrollAsDeviceAsync(f, "O=Example Devices, CN=demo-device-1, SERIALNUMBER=DEMO-0001");
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);
        using EnrollmentOutcome stillBound = await EnrollAsDeviceAsync(f, "CN=demo-device-1");
        Assert.Equal(EnrollmentStatus.Issued, stillBound.Status);

        using EnrollmentOutcome otherOrganization = await EnrollAsDeviceAsync(f, "SERIALNUMBER=DEMO-0001, CN=demo-device-1, O=Other Devices");
        Assert.Equal(RejectionReason.NameNotBoundToRequester, otherOrganization.Reason);
        using EnrollmentOutcome otherDevice = await EnrollAsDeviceAsync(f, "SERIALNUMBER=DEMO-0002, CN=demo-device-1, O=Example Devices");
        Assert.Equal(RejectionReason.NameNotBoundToRequester, otherDevice.Reason);
        using EnrollmentOutcome extra = await EnrollAsDeviceAsync(f, "SERIALNUMBER=DEMO-0001, CN=demo-device-1, O=Example Devices, OU=x");
        Assert.Equal(RejectionReason.NameNotBoundToRequester, extra.Reason);
    }

    [Fact]
    public async Task A_subjectAltName_template_admits_the_name_it_makes_from_the_client_certificate_and_no_other()
    {
        await using EnrollmentFixture f = await WithProfileAsync(new CertificateProfileOptions { SubjectAltNameTemplates = ["DNS:{CN}.devices.example", "URI:urn:dev:sn:{serialNumber}"] });
        using EnrollmentOutcome issued = await EnrollAsDeviceAsync(f, EnrollmentFixture.Csr("CN=demo-device-1", dnsNames: "demo-device-1.devices.example"));
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);

        using EnrollmentOutcome other = await EnrollAsDeviceAsync(f, EnrollmentFixture.Csr("CN=demo-device-1", dnsNames: "demo-device-2.devices.example"));
        Assert.Equal(RejectionReason.NameNotBoundToRequester, other.Reason);
        Assert.Contains("subjectAltName DNS:demo-device-2.devices.example", other.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_allow_list_admits_its_names_to_any_trusted_device_and_the_first_holds_them()
    {
        await using EnrollmentFixture f = await WithProfileAsync(new CertificateProfileOptions
        {
            AllowedSubjects = ["CN=gateway, O=Example"],
            AllowedSubjectAltNames = ["DNS:gw.example"],
        });
        using EnrollmentOutcome issued = await EnrollAsDeviceAsync(f, EnrollmentFixture.Csr("O=Example, CN=gateway", dnsNames: "gw.example"));
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);

        using EnrollmentOutcome notListed = await EnrollAsDeviceAsync(f, "CN=gateway-2, O=Example");
        Assert.Equal(RejectionReason.NameNotBoundToRequester, notListed.Reason);

        using X509Certificate2 second = f.ManufacturerDevice("CN=demo-device-9");
        using EnrollmentOutcome taken = await f.Service.EnrollAsync(EnrollmentFixture.Request(await f.AuthenticateAsync(second), EnrollmentFixture.Csr("CN=gateway, O=Example")),
            CancellationToken.None);
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, taken.Reason);
    }

    [Fact]
    public async Task Any_name_held_for_approval_issues_bound_names_holds_the_others_and_still_refuses_reserved_ones()
    {
        await using EnrollmentFixture f = await WithProfileAsync(new CertificateProfileOptions { NamePolicy = NamePolicy.AnyNameHeldForApproval });
        using EnrollmentOutcome own = await EnrollAsDeviceAsync(f, "CN=demo-device-1");
        Assert.Equal(EnrollmentStatus.Issued, own.Status);

        using EnrollmentOutcome held = await EnrollAsDeviceAsync(f, "SERIALNUMBER=DEMO-0002, CN=demo-device-2");
        Assert.Equal(EnrollmentStatus.Pending, held.Status);
        StoredRequest pending = Assert.Single(await f.Authority.ListPendingAsync(10, CancellationToken.None));
        Assert.Equal(held.RequestId, pending.Id);
        AuditEntry audit = (await f.Store.ListAuditAsync(10, CancellationToken.None)).First(a => a.Action == "pending");
        Assert.Contains("held: name not bound to the requester: CN 'demo-device-2'", audit.Details, StringComparison.Ordinal);

        IssuanceResult approved = await f.Authority.ApproveAsync(held.RequestId!.Value, "operator", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, approved.Status);

        using EnrollmentOutcome reserved = await EnrollAsDeviceAsync(f, "CN=localhost, O=CoapEnroll");
        Assert.Equal(RejectionReason.ReservedName, reserved.Reason);
    }

    [Fact]
    public async Task Any_name_issues_another_device_s_name_and_warns_at_start()
    {
        var logger = new ListLogger<EnrollmentService>();
        await using EnrollmentFixture f = await WithProfileAsync(new CertificateProfileOptions { NamePolicy = NamePolicy.AnyName });
        var service = new EnrollmentService(f.Authority, f.Hierarchy, new EnrollmentOptions(), logger);
        (Microsoft.Extensions.Logging.LogLevel level, string message) = Assert.Single(logger.Entries);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, level);
        Assert.StartsWith("Profile default has NamePolicy AnyName", message, StringComparison.Ordinal);

        using X509Certificate2 device = f.DeviceCertificate();
        using EnrollmentOutcome outcome = await service.EnrollAsync(
            EnrollmentFixture.Request(await service.AuthenticateAsync(EnrollmentFixture.Peer(device), CancellationToken.None) is { Requester: { } r } ? r : throw new InvalidOperationException(),
                EnrollmentFixture.Csr("SERIALNUMBER=DEMO-0002, CN=demo-device-2")), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
    }

    [Fact]
    public async Task The_default_profile_does_not_warn()
    {
        var logger = new ListLogger<EnrollmentService>();
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        _ = new EnrollmentService(f.Authority, f.Hierarchy, new EnrollmentOptions(), logger);
        Assert.Empty(logger.Entries);
    }

    [Fact]
    public async Task A_named_profile_relaxes_only_itself()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(configureCa: ca => ca.Profiles = new()
        {
            ["lab"] = new CertificateProfileOptions { NamePolicy = NamePolicy.AnyName },
        });
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        using EnrollmentOutcome lab = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=bench-17"), profile: "lab"), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, lab.Status);
        using EnrollmentOutcome strict = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr("CN=bench-18")), CancellationToken.None);
        Assert.Equal(RejectionReason.NameNotBoundToRequester, strict.Reason);
    }

    private static Task<EnrollmentFixture> WithProfileAsync(CertificateProfileOptions profile) =>
        EnrollmentFixture.CreateAsync(configureCa: ca => ca.Profiles = new() { ["default"] = profile });

    private static Task<EnrollmentOutcome> EnrollAsDeviceAsync(EnrollmentFixture f, string subject) => EnrollAsDeviceAsync(f, EnrollmentFixture.Csr(subject));

    private static async Task<EnrollmentOutcome> EnrollAsDeviceAsync(EnrollmentFixture f, byte[] csr)
    {
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        return await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, csr), CancellationToken.None);
    }

    private static void AssertRefused(EnrollmentOutcome outcome, RejectionReason reason, string detail)
    {
        Assert.Equal(EnrollmentStatus.Refused, outcome.Status);
        Assert.Equal(reason, outcome.Reason);
        Assert.Equal(detail, outcome.Detail);
    }

    // A certificate of this CA written straight to the store, as one issued before the name rules existed.
    private static async Task<X509Certificate2> StoreUncheckedAsync(EnrollmentFixture f, string subject, string requester)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(DistinguishedNameParser.TryParse(subject, out _)!, key, HashAlgorithmName.SHA256);
        using X509Certificate2 certificate = request.Create(f.Hierarchy.IssuingCa, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(9));
        await f.Store.AddIssuedAsync(new StoredRequest { CsrDer = request.CreateSigningRequest(), Requester = requester, Protocol = "test", Profile = "default" },
            StoredCertificate.FromCertificate(certificate, "default", requester, null),
            new AuditEntry { Timestamp = DateTimeOffset.UtcNow, Actor = "test", Action = "issue", Details = subject }, CancellationToken.None);
        return certificate.CopyWithPrivateKey(key);
    }
}
