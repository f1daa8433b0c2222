using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca.Tests;

/// <summary>Refused requests are stored as rejected rows with their reason, and never answer a later request from the store.</summary>
public sealed class RefusalRecordTests
{
    private static Action<CaOptions> P256Only => o => o.Profiles = new()
    {
        ["strict"] = new CertificateProfileOptions { AcceptedKeyTypes = ["P-256"] },
    };

    [Fact]
    public async Task A_policy_rejection_is_stored_as_a_rejected_request_with_reason_csr_and_who_asked()
    {
        await using TestCa ca = await TestCa.CreateAsync(P256Only);
        byte[] csr = TestCa.Csr("CN=too-big", key: ECDsa.Create(ECCurve.NamedCurves.nistP384));
        string key = IssuanceRequest.ComputeRequestKey(csr, "dev-7");

        IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(csr, "strict", key, "dev-7"), CancellationToken.None);
        Assert.Equal(RejectionReason.UnsupportedKeyType, result.Reason);
        Assert.NotNull(result.RequestId);

        await ca.RestartAsync();
        StoredRequest row = Assert.Single(await ca.Store.ListRequestsAsync(RequestStatus.Rejected, 100, CancellationToken.None));
        Assert.Equal(result.RequestId, row.Id);
        Assert.Equal(RequestStatus.Rejected, row.Status);
        Assert.Equal(RejectionReason.UnsupportedKeyType, row.RejectionReason);
        Assert.Equal(result.Detail, row.ReasonDetail);
        Assert.Equal("CSR key: EcP384 is not accepted by profile 'strict'", row.ReasonDetail);
        Assert.Equal(csr, row.CsrDer);
        Assert.Equal("dev-7", row.Requester);
        Assert.Equal("est-coaps", row.Protocol);
        Assert.Equal("strict", row.Profile);
        Assert.Null(row.RequestKey);
        Assert.Null(row.IssuedSerialNumber);
        StoredRequest byId = (await ca.Store.GetRequestAsync(row.Id, CancellationToken.None))!;
        Assert.Equal((RequestStatus.Rejected, RejectionReason.UnsupportedKeyType, row.ReasonDetail), (byId.Status, byId.RejectionReason, byId.ReasonDetail));
        Assert.Empty(await ca.Authority.ListPendingAsync(100, CancellationToken.None));
        Assert.Empty(await ca.Store.ListCertificatesAsync(100, CancellationToken.None));

        AuditEntry audit = Assert.Single(await ca.Store.ListAuditAsync(100, CancellationToken.None), a => a.Action == "rejected-request");
        Assert.Equal("dev-7", audit.Actor);
        Assert.StartsWith($"request {row.Id}: UnsupportedKeyType: ", audit.Details, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_identical_repeat_is_judged_again_and_issues_once_the_operator_relaxed_the_profile()
    {
        await using TestCa ca = await TestCa.CreateAsync(P256Only);
        byte[] csr = TestCa.Csr("CN=later", key: ECDsa.Create(ECCurve.NamedCurves.nistP384));
        string key = IssuanceRequest.ComputeRequestKey(csr, "dev");

        IssuanceResult first = await ca.Authority.IssueAsync(TestCa.Request(csr, "strict", key, "dev"), CancellationToken.None);
        IssuanceResult second = await ca.Authority.IssueAsync(TestCa.Request(csr, "strict", key, "dev"), CancellationToken.None);
        Assert.Equal(RejectionReason.UnsupportedKeyType, first.Reason);
        Assert.Equal(RejectionReason.UnsupportedKeyType, second.Reason);
        Assert.False(second.Repeated);
        Assert.NotEqual(first.RequestId, second.RequestId);

        ca.Options.Profiles!["strict"] = new CertificateProfileOptions { AcceptedKeyTypes = ["P-256", "P-384"] };
        await ca.RestartAsync();
        IssuanceResult issued = await ca.Authority.IssueAsync(TestCa.Request(csr, "strict", key, "dev"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, issued.Status);
        Assert.False(issued.Repeated);
        Assert.Equal("CN=later", issued.Certificate!.Subject);

        IReadOnlyList<StoredRequest> all = await ca.Store.ListRequestsAsync(null, 100, CancellationToken.None);
        Assert.Equal([RequestStatus.Issued, RequestStatus.Rejected, RequestStatus.Rejected], all.Select(r => r.Status));
        Assert.Equal(key, all[0].RequestKey);
        Assert.Equal(issued.Certificate.SerialNumber, all[0].IssuedSerialNumber);
    }

    [Fact]
    public async Task Unknown_profile_bad_signature_and_reused_request_key_are_stored_and_unusable_fields_only_audited()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] csr = TestCa.Csr();
        byte[] tampered = (byte[])csr.Clone();
        tampered[^1] ^= 0x01;
        string key = IssuanceRequest.ComputeRequestKey(csr, "dev");
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "dev"), CancellationToken.None)).Status);

        Assert.Equal(RejectionReason.UnknownProfile, (await ca.Authority.IssueAsync(TestCa.Request(csr, "nope", requester: "a"), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.BadSignature, (await ca.Authority.IssueAsync(TestCa.Request(tampered, requester: "b"), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.RequestKeyConflict, (await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "c"), CancellationToken.None)).Reason);
        IssuanceResult invalid = await ca.Authority.IssueAsync(TestCa.Request(csr, requester: new string('x', IssuanceRequest.MaxRequesterLength + 1)), CancellationToken.None);
        Assert.Equal(RejectionReason.InvalidParameter, invalid.Reason);
        Assert.Null(invalid.RequestId);
        IssuanceResult huge = await ca.Authority.IssueAsync(TestCa.Request(new byte[IssuanceRequest.MaxCsrLength + 1], requester: "d"), CancellationToken.None);
        Assert.Equal(RejectionReason.MalformedRequest, huge.Reason);
        Assert.Null(huge.RequestId);

        IReadOnlyList<StoredRequest> rejected = await ca.Store.ListRequestsAsync(RequestStatus.Rejected, 100, CancellationToken.None);
        Assert.Equal(["c", "b", "a"], rejected.Select(r => r.Requester));
        Assert.Equal([RejectionReason.RequestKeyConflict, RejectionReason.BadSignature, RejectionReason.UnknownProfile], rejected.Select(r => r.RejectionReason));
        Assert.Equal("nope", rejected[2].Profile);
        Assert.Equal(tampered, rejected[1].CsrDer);
        Assert.All(rejected, r => Assert.Null(r.RequestKey));

        // The reused key still answers its owner with the certificate it was issued.
        IssuanceResult owner = await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "dev"), CancellationToken.None);
        Assert.True(owner.Repeated);
        Assert.Equal(2, (await ca.Store.ListAuditAsync(100, CancellationToken.None)).Count(a => a.Action == "rejected-request" && !a.Details.StartsWith("request ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_refusal_of_the_protocol_front_end_is_recorded_like_a_policy_rejection()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] csr = TestCa.Csr("CN=renewing");
        using ECDsa generated = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new IssuanceRequest
        {
            CsrDer = csr,
            Requester = "CN=device sha256:00",
            Protocol = "est-coaps",
            ProfileName = null,
            ReplacesSerialNumber = "0a1b",
            OverridePublicKey = new PublicKey(generated),
            RequestKey = "would-be-key",
        };

        IssuanceResult result = await ca.Authority.RecordRefusalAsync(request, RejectionReason.NotAuthorized, "/sren: the CSR subject differs", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Rejected, result.Status);
        Assert.Equal(RejectionReason.NotAuthorized, result.Reason);

        StoredRequest row = (await ca.Store.GetRequestAsync(result.RequestId!.Value, CancellationToken.None))!;
        Assert.Equal(RequestStatus.Rejected, row.Status);
        Assert.Equal(RejectionReason.NotAuthorized, row.RejectionReason);
        Assert.Equal("/sren: the CSR subject differs", row.ReasonDetail);
        Assert.Equal(csr, row.CsrDer);
        Assert.Equal(generated.ExportSubjectPublicKeyInfo(), row.OverridePublicKey);
        Assert.Equal("CN=device sha256:00", row.Requester);
        Assert.Equal(ca.Authority.Profiles.Default.Name, row.Profile);
        Assert.Equal("0A1B", row.ReplacesSerialNumber);
        Assert.Null(row.RequestKey);
        Assert.Null(await ca.Store.GetRequestByKeyAsync("would-be-key", CancellationToken.None));
        Assert.Empty(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));

        // Unusable fields: audited only.
        IssuanceResult unusable = await ca.Authority.RecordRefusalAsync(new IssuanceRequest { CsrDer = csr, Requester = "dev", Protocol = "est coaps" },
            RejectionReason.UnsatisfiableRequest, "no key", CancellationToken.None);
        Assert.Null(unusable.RequestId);
        Assert.Single(await ca.Store.ListRequestsAsync(null, 10, CancellationToken.None));
        Assert.Equal(2, (await ca.Store.ListAuditAsync(10, CancellationToken.None)).Count(a => a.Action == "rejected-request"));

        // The store itself drops the request key of a rejected row, whoever calls it.
        StoredRequest direct = await ca.Store.AddRejectedAsync(row with { Id = 0, RequestKey = "direct-key" }, RejectionReason.NotAuthorized, "direct",
            new AuditEntry { Actor = "a", Action = "rejected-request", Details = "d" }, CancellationToken.None);
        Assert.Null(direct.RequestKey);
        Assert.Null(await ca.Store.GetRequestByKeyAsync("direct-key", CancellationToken.None));
        Assert.Equal(2, (await ca.Store.ListRequestsAsync(RequestStatus.Rejected, 10, CancellationToken.None)).Count);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ca.Authority.RecordRefusalAsync(request, RejectionReason.None, "why", CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ca.Authority.RecordRefusalAsync(request, (RejectionReason)999, "why", CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => ca.Authority.RecordRefusalAsync(request, RejectionReason.NotAuthorized, " ", CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ca.Store.AddRejectedAsync(row, RejectionReason.None, "x",
            new AuditEntry { Actor = "a", Action = "rejected-request", Details = "d" }, CancellationToken.None));
        Assert.Equal(2, (await ca.Store.ListRequestsAsync(null, 10, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Requests_are_listed_by_status_newest_first_and_bounded()
    {
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new()
        {
            ["manual"] = new CertificateProfileOptions { RequiresApproval = true },
        });
        long issued = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=one")), CancellationToken.None)).RequestId!.Value;
        long pending = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=two"), "manual"), CancellationToken.None)).RequestId!.Value;
        long refused = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(""), "manual"), CancellationToken.None)).RequestId!.Value;
        long operatorRejected = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=three"), "manual"), CancellationToken.None)).RequestId!.Value;
        await ca.Authority.RejectAsync(operatorRejected, "op", "not ours", CancellationToken.None);

        Assert.Equal([operatorRejected, refused, pending, issued], (await ca.Store.ListRequestsAsync(null, 10, CancellationToken.None)).Select(r => r.Id));
        Assert.Equal([operatorRejected, refused], (await ca.Store.ListRequestsAsync(null, 2, CancellationToken.None)).Select(r => r.Id));
        Assert.Equal([operatorRejected, refused], (await ca.Store.ListRequestsAsync(RequestStatus.Rejected, 10, CancellationToken.None)).Select(r => r.Id));
        Assert.Equal([pending], (await ca.Store.ListRequestsAsync(RequestStatus.Pending, 10, CancellationToken.None)).Select(r => r.Id));
        Assert.Equal([issued], (await ca.Store.ListRequestsAsync(RequestStatus.Issued, 10, CancellationToken.None)).Select(r => r.Id));
        Assert.Equal(RejectionReason.SubjectNotAllowed, (await ca.Store.GetRequestAsync(refused, CancellationToken.None))!.RejectionReason);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ca.Store.ListRequestsAsync(null, 0, CancellationToken.None));
    }
}
