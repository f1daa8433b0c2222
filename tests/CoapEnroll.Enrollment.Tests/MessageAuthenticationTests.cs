using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cmp;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// Requesters authenticated by the request itself (CMP): a signature verified with a certificate (judged as a DTLS client
/// certificate, without channel binding) or a MAC with a configured shared secret (RequesterTrust.SharedSecret and its grant).
/// </summary>
public sealed class MessageAuthenticationTests
{
    private static async Task<Requester> SecretAsync(EnrollmentFixture f, string reference, SharedSecretGrant? grant = null)
    {
        AuthenticationResult result = await f.Service.AuthenticateAsync(PeerIdentity.SharedSecret("cmp-coap", reference, grant ?? new SharedSecretGrant()), CancellationToken.None);
        return result.Requester ?? throw new InvalidOperationException("not authenticated");
    }

    private static Task<EnrollmentOutcome> EnrollAsync(EnrollmentFixture f, Requester requester, byte[] csr,
        EnrollmentOperation operation = EnrollmentOperation.Enroll, string? profile = null) =>
        f.Service.EnrollAsync(EnrollmentFixture.Request(requester, csr, operation, profile: profile), CancellationToken.None);

    private static Task<EnrollmentFixture> WithProfilesAsync(Action<EnrollmentOptions>? configure = null, params (string Name, CertificateProfileOptions Options)[] profiles) =>
        EnrollmentFixture.CreateAsync(configure, ca =>
        {
            if (profiles.Length > 0)
            {
                ca.Profiles = profiles.ToDictionary(p => p.Name, p => p.Options);
            }
        });

    // ---- signed messages --------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_message_signed_with_a_manufacturer_certificate_is_a_manufacturer_requester_without_channel_binding()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(o => o.RequireProofOfPossessionLinking = true);
        using X509Certificate2 device = f.DeviceCertificate();
        AuthenticationResult result = await f.Service.AuthenticateAsync(PeerIdentity.SignedMessage("cmp-coap", [device]), CancellationToken.None);
        Requester requester = result.Requester!;
        Assert.Equal(RequesterTrust.Manufacturer, requester.Trust);
        Assert.Same(device, requester.Certificate);
        Assert.Null(requester.Grant);
        Assert.False(requester.Peer.IsSecureChannel);
        Assert.True(requester.Peer.IsSignedMessage);

        // Linking is required for channels, but a signed message has none: it is not asked for.
        using EnrollmentOutcome outcome = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=demo-device-1"));
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
    }

    [Fact]
    public async Task A_message_signed_with_a_certificate_of_this_ca_may_reenroll()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 issued = await AuthenticationTests.IssueFromDeviceAsync(f);
        Requester requester = (await f.Service.AuthenticateAsync(PeerIdentity.SignedMessage("cmp-coap", [issued]), CancellationToken.None)).Requester!;
        Assert.Equal(RequesterTrust.ThisCa, requester.Trust);
        using EnrollmentOutcome renewed = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=demo-device-1"), EnrollmentOperation.Reenroll);
        Assert.Equal(EnrollmentStatus.Issued, renewed.Status);
    }

    [Fact]
    public async Task A_message_signed_with_an_untrusted_certificate_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 self = new CertificateRequest("CN=self", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        AuthenticationResult result = await f.Service.AuthenticateAsync(PeerIdentity.SignedMessage("cmp-coap", [self]), CancellationToken.None);
        Assert.Null(result.Requester);
        Assert.Equal(AuthenticationFailure.UntrustedCertificate, result.Failure);
    }

    [Fact]
    public void A_signed_message_needs_a_certificate() =>
        Assert.Throws<ArgumentException>(() => PeerIdentity.SignedMessage("cmp-coap", []));

    // ---- shared secrets ---------------------------------------------------------------------------------------------------

    [Fact]
    public async Task A_shared_secret_authenticates_as_its_reference()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        var grant = new SharedSecretGrant { Profile = "default" };
        AuthenticationResult result = await f.Service.AuthenticateAsync(PeerIdentity.SharedSecret("cmp-coap", "dev-7", grant), CancellationToken.None);
        Requester requester = result.Requester!;
        Assert.Equal(AuthenticationFailure.None, result.Failure);
        Assert.Equal(RequesterTrust.SharedSecret, requester.Trust);
        Assert.Null(requester.Certificate);
        Assert.Same(grant, requester.Grant);
        Assert.Equal("secret:dev-7", requester.Name);
        Assert.Equal("secret:dev-7", requester.Identity);
        Assert.Equal("secret:dev-7", result.Name);
    }

    [Fact]
    public async Task A_shared_secret_reference_is_escaped_in_the_name()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        Requester requester = await SecretAsync(f, "a\nb\u202e");
        Assert.StartsWith("secret:a", requester.Name, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', requester.Name);
        Assert.DoesNotContain('\u202e', requester.Name);
        Assert.Equal(requester.Name, requester.Identity);
    }

    [Fact]
    public async Task Long_references_that_share_a_prefix_are_two_requesters()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        string prefix = new('r', 300);
        Requester a = await SecretAsync(f, prefix + "a");
        Requester b = await SecretAsync(f, prefix + "b");
        Assert.NotEqual(a.Identity, b.Identity);
        Assert.EndsWith("a", a.Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_granted_subject_the_cn_must_be_the_reference()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        Requester requester = await SecretAsync(f, "dev-7");
        using EnrollmentOutcome issued = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=dev-7"));
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);
        Assert.Equal("CN=dev-7", issued.Certificate!.Subject);

        using EnrollmentOutcome refused = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=dev-8"));
        Assert.Equal(RejectionReason.NameNotBoundToRequester, refused.Reason);
        Assert.Contains("the subject's CN is not the shared secret's reference 'dev-7'", refused.Detail);
        StoredRequest stored = Assert.Single(await f.RejectedAsync());
        Assert.Equal("secret:dev-7", stored.Requester);
    }

    [Fact]
    public async Task Without_a_granted_subject_nothing_but_the_CN_is_the_requesters_to_choose()
    {
        // A serialNumber (or an O) next to the CN would be the requester's word: another device's serial, filled into a template.
        await using EnrollmentFixture f = await WithProfilesAsync(null, ("default", new CertificateProfileOptions
        {
            SubjectTemplates = ["CN={CN}, O=Example Devices"],
            SubjectAltNameTemplates = ["DNS:sn-{serialNumber}.devices.example", "DNS:{CN}.devices.example"],
        }));
        Requester requester = await SecretAsync(f, "dev-7");
        foreach (string subject in new[] { "CN=dev-7, serialNumber=DEMO-0001", "serialNumber=DEMO-0001, CN=dev-7, O=CoapEnroll Demo Manufacturer", "CN=dev-7, O=Other" })
        {
            using EnrollmentOutcome refused = await EnrollAsync(f, requester, EnrollmentFixture.Csr(subject));
            Assert.Equal(RejectionReason.NameNotBoundToRequester, refused.Reason);
            Assert.Contains("the subject has more than CN=dev-7, the shared secret's reference", refused.Detail);
        }

        // The profile's subject template, filled from the CN, adds what the operator chose.
        using EnrollmentOutcome templated = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=dev-7, O=Example Devices", dnsNames: "dev-7.devices.example"));
        Assert.Equal(EnrollmentStatus.Issued, templated.Status);
    }

    [Fact]
    public async Task A_shared_secret_may_not_reenroll()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using EnrollmentOutcome outcome = await EnrollAsync(f, await SecretAsync(f, "dev-7"), EnrollmentFixture.Csr("CN=dev-7"), EnrollmentOperation.Reenroll);
        Assert.Equal(RejectionReason.NotAuthorized, outcome.Reason);
        Assert.StartsWith("a shared secret may request a new certificate, not renew one", outcome.Detail, StringComparison.Ordinal);
        Assert.Null(Assert.Single(await f.RejectedAsync()).ReplacesSerialNumber);
    }

    [Fact]
    public async Task A_shared_secret_may_have_the_server_generate_the_key()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using EnrollmentOutcome outcome = await EnrollAsync(f, await SecretAsync(f, "dev-7"), EnrollmentFixture.Csr("CN=dev-7"), EnrollmentOperation.ServerKeyGeneration);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
        Assert.NotNull(outcome.GeneratedKey);
    }

    [Fact]
    public async Task A_granted_profile_is_the_only_one()
    {
        await using EnrollmentFixture f = await WithProfilesAsync(null, ("default", new CertificateProfileOptions()), ("lab", new CertificateProfileOptions()));
        Requester requester = await SecretAsync(f, "dev-7", new SharedSecretGrant { Profile = "lab" });
        using EnrollmentOutcome refused = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=dev-7"));
        Assert.Equal(RejectionReason.NotAuthorized, refused.Reason);
        Assert.Equal("the shared secret is not granted profile 'default'", refused.Detail);
        using EnrollmentOutcome issued = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=dev-7"), profile: "lab");
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);
    }

    [Fact]
    public async Task A_granted_subject_is_compared_without_case_space_or_order()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        Requester requester = await SecretAsync(f, "dev-7", new SharedSecretGrant { Subject = "cn=Gateway  One, O=Acme" });
        using EnrollmentOutcome issued = await EnrollAsync(f, requester, EnrollmentFixture.Csr("O=acme, CN=gateway one"));
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);

        using EnrollmentOutcome refused = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=dev-7"));
        Assert.Equal(RejectionReason.NameNotBoundToRequester, refused.Reason);
        Assert.Contains("the subject is not the one the shared secret 'dev-7' is granted", refused.Detail);
    }

    [Fact]
    public async Task A_shared_secret_gets_only_the_subject_alt_names_the_profile_templates_allow()
    {
        await using EnrollmentFixture f = await WithProfilesAsync(null, ("default", new CertificateProfileOptions { SubjectAltNameTemplates = ["DNS:{CN}.devices.example"] }));
        Requester requester = await SecretAsync(f, "dev-7", new SharedSecretGrant { Subject = "CN=gw-1" });
        using EnrollmentOutcome issued = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=gw-1", dnsNames: "gw-1.devices.example"));
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);

        using EnrollmentOutcome refused = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=gw-1", dnsNames: "other.example"));
        Assert.Equal(RejectionReason.NameNotBoundToRequester, refused.Reason);
        Assert.Contains("subjectAltName DNS:other.example is not granted to a shared secret", refused.Detail);

        Requester byReference = await SecretAsync(f, "dev-7");
        using EnrollmentOutcome bare = await EnrollAsync(f, byReference, EnrollmentFixture.Csr("CN=dev-7", dnsNames: "gw-1.devices.example"));
        Assert.Equal(RejectionReason.NameNotBoundToRequester, bare.Reason);
    }

    [Fact]
    public async Task Any_name_is_still_no_reserved_name_nor_one_held_by_another_identity()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        Requester requester = await SecretAsync(f, "dev-7", new SharedSecretGrant { AnyName = true, Subject = "CN=ignored" });
        using EnrollmentOutcome issued = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=anything"));
        Assert.Equal(EnrollmentStatus.Issued, issued.Status);

        using EnrollmentOutcome reserved = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=CoapEnroll Demo Issuing CA, O=CoapEnroll"));
        Assert.Equal(RejectionReason.ReservedName, reserved.Reason);

        using X509Certificate2 device = await AuthenticationTests.IssueFromDeviceAsync(f);
        using EnrollmentOutcome held = await EnrollAsync(f, requester, EnrollmentFixture.Csr("CN=demo-device-1"));
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, held.Reason);
    }

    [Fact]
    public async Task An_unbound_name_waits_for_approval_under_AnyNameHeldForApproval()
    {
        await using EnrollmentFixture f = await WithProfilesAsync(null, ("default", new CertificateProfileOptions { NamePolicy = NamePolicy.AnyNameHeldForApproval }));
        using EnrollmentOutcome held = await EnrollAsync(f, await SecretAsync(f, "dev-7"), EnrollmentFixture.Csr("CN=dev-8"));
        Assert.Equal(EnrollmentStatus.Pending, held.Status);
    }

    [Fact]
    public async Task A_shared_secret_names_stay_bound_under_AnyName()
    {
        await using EnrollmentFixture f = await WithProfilesAsync(null, ("default", new CertificateProfileOptions { NamePolicy = NamePolicy.AnyName }));
        using EnrollmentOutcome refused = await EnrollAsync(f, await SecretAsync(f, "dev-7"), EnrollmentFixture.Csr("CN=dev-8"));
        Assert.Equal(RejectionReason.NameNotBoundToRequester, refused.Reason);
    }

    // ---- CRMF requests ------------------------------------------------------------------------------------------------------

    private static EnrollmentRequest CrmfRequest(Requester requester, CrmfConversion conversion) => new()
    {
        Requester = requester,
        Operation = conversion.CentralKeyGeneration ? EnrollmentOperation.ServerKeyGeneration : EnrollmentOperation.Enroll,
        OperationName = "ir",
        Request = conversion.Request!,
    };

    private static CertReqMsg SignedCertReqMsg(ECDsa key, string subject)
    {
        var request = new CertRequest
        {
            Template = new CertTemplate { Subject = new X500DistinguishedName(subject).RawData, PublicKey = key.ExportSubjectPublicKeyInfo() },
        };
        return new CertReqMsg
        {
            CertReq = request,
            Popo = new Cmp.ProofOfPossession
            {
                Kind = ProofOfPossessionKind.Signature,
                SignatureAlgorithm = new CmpAlgorithmIdentifier { Algorithm = "1.2.840.10045.4.3.2" },
                Signature = key.SignData(request.GetEncoded().Span, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
            },
        };
    }

    [Fact]
    public async Task A_crmf_request_from_a_shared_secret_is_issued_for_its_key()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CrmfConversion conversion = CrmfRequests.Convert(SignedCertReqMsg(key, "CN=dev-7"));
        Assert.True(conversion.IsSuccess, conversion.Detail);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(CrmfRequest(await SecretAsync(f, "dev-7"), conversion), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), outcome.Certificate!.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public async Task A_crmf_request_without_a_key_is_issued_for_a_generated_key()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        var message = new CertReqMsg { CertReq = new CertRequest { Template = new CertTemplate { Subject = new X500DistinguishedName("CN=dev-7").RawData } } };
        CrmfConversion conversion = CrmfRequests.Convert(message);
        Assert.True(conversion.CentralKeyGeneration);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(CrmfRequest(await SecretAsync(f, "dev-7"), conversion), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
        Assert.NotNull(outcome.GeneratedKey);
        Assert.Equal(outcome.GeneratedKey!.ExportSubjectPublicKeyInfo(), outcome.Certificate!.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public async Task A_held_crmf_request_is_issued_when_an_operator_approves_it()
    {
        await using EnrollmentFixture f = await WithProfilesAsync(null, ("default", new CertificateProfileOptions { NamePolicy = NamePolicy.AnyNameHeldForApproval }));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CrmfConversion conversion = CrmfRequests.Convert(SignedCertReqMsg(key, "CN=unbound"));
        using EnrollmentOutcome held = await f.Service.EnrollAsync(CrmfRequest(await SecretAsync(f, "dev-7"), conversion), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Pending, held.Status);
        IssuanceResult approved = await f.Authority.ApproveAsync(held.RequestId!.Value, "operator", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, approved.Status);
        Assert.Equal("CN=unbound", approved.Certificate!.Subject);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), approved.Certificate.PublicKey.ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public async Task A_crmf_request_without_a_key_is_refused_as_a_plain_enrollment()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        var message = new CertReqMsg { CertReq = new CertRequest { Template = new CertTemplate { Subject = new X500DistinguishedName("CN=dev-7").RawData } } };
        EnrollmentRequest request = new()
        {
            Requester = await SecretAsync(f, "dev-7"),
            Operation = EnrollmentOperation.Enroll,
            OperationName = "ir",
            Request = CrmfRequests.Convert(message).Request!,
        };
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(request, CancellationToken.None);
        Assert.Equal(RejectionReason.MalformedRequest, outcome.Reason);
    }
}
