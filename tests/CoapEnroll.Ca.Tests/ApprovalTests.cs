namespace CoapEnroll.Ca.Tests;

public sealed class ApprovalTests
{
    private static Action<CaOptions> ManualProfile => o => o.Profiles = new()
    {
        ["manual"] = new CertificateProfileOptions { RequiresApproval = true },
    };

    [Fact]
    public async Task Pending_request_survives_a_restart_is_approved_and_the_repeat_gets_the_certificate()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        byte[] csr = TestCa.Csr("CN=waiting");
        string key = IssuanceRequest.ComputeRequestKey(csr, "dev");

        IssuanceResult pending = await ca.Authority.IssueAsync(TestCa.Request(csr, "manual", key, "dev"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Pending, pending.Status);
        Assert.NotNull(pending.RequestId);
        Assert.Null(pending.Certificate);
        Assert.Empty(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));

        // The device retries before approval: still pending, same request.
        IssuanceResult stillPending = await ca.Authority.IssueAsync(TestCa.Request(csr, "manual", key, "dev"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Pending, stillPending.Status);
        Assert.Equal(pending.RequestId, stillPending.RequestId);

        await ca.RestartAsync();
        StoredRequest listed = Assert.Single(await ca.Authority.ListPendingAsync(100, CancellationToken.None));
        Assert.Equal(pending.RequestId, listed.Id);
        Assert.Equal("dev", listed.Requester);
        Assert.Equal("manual", listed.Profile);
        Assert.Equal(csr, listed.CsrDer);

        IssuanceResult approved = await ca.Authority.ApproveAsync(listed.Id, "operator-alice", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, approved.Status);
        Assert.Equal("CN=waiting", approved.Certificate!.Subject);
        Assert.Empty(await ca.Authority.ListPendingAsync(100, CancellationToken.None));

        await ca.RestartAsync();
        IssuanceResult repeat = await ca.Authority.IssueAsync(TestCa.Request(csr, "manual", key, "dev"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, repeat.Status);
        Assert.True(repeat.Repeated);
        Assert.Equal(approved.Certificate.SerialNumber, repeat.Certificate!.SerialNumber);

        // Approving again changes nothing.
        IssuanceResult again = await ca.Authority.ApproveAsync(listed.Id, "operator-bob", CancellationToken.None);
        Assert.Equal(approved.Certificate.SerialNumber, again.Certificate!.SerialNumber);
        Assert.Single(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));

        IReadOnlyList<AuditEntry> audit = await ca.Store.ListAuditAsync(100, CancellationToken.None);
        Assert.Contains(audit, a => a.Action == "pending" && a.Actor == "dev");
        Assert.Contains(audit, a => a.Action == "issue" && a.Actor == "operator-alice");
    }

    [Fact]
    public async Task Rejected_request_is_answered_with_the_rejection_on_repeat_and_cannot_be_approved()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        byte[] csr = TestCa.Csr();
        string key = IssuanceRequest.ComputeRequestKey(csr, "dev");
        long id = (await ca.Authority.IssueAsync(TestCa.Request(csr, "manual", key, "dev"), CancellationToken.None)).RequestId!.Value;

        IssuanceResult rejected = await ca.Authority.RejectAsync(id, "operator", "unknown device", CancellationToken.None);
        Assert.Equal(RejectionReason.RejectedByOperator, rejected.Reason);

        await ca.RestartAsync();
        IssuanceResult repeat = await ca.Authority.IssueAsync(TestCa.Request(csr, "manual", key, "dev"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Rejected, repeat.Status);
        Assert.Equal(RejectionReason.RejectedByOperator, repeat.Reason);
        Assert.Equal("unknown device", repeat.Detail);

        IssuanceResult approveAfterReject = await ca.Authority.ApproveAsync(id, "operator", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Rejected, approveAfterReject.Status);
        Assert.Empty(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task Approval_where_the_profile_is_not_configured_changes_nothing_and_the_request_stays_pending()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        byte[] csr = TestCa.Csr("CN=elsewhere");
        long id = (await ca.Authority.IssueAsync(TestCa.Request(csr, "manual", requester: "dev"), CancellationToken.None)).RequestId!.Value;

        // The deciding process lacks the profile, as a CLI started without the servers' Ca:Profiles would.
        ca.Options.Profiles = new();
        await ca.RestartAsync();
        ProfileNotConfiguredException refused = await Assert.ThrowsAsync<ProfileNotConfiguredException>(() => ca.Authority.ApproveAsync(id, "operator", CancellationToken.None));
        Assert.Equal("manual", refused.Profile);
        Assert.Equal(id, refused.RequestId);
        Assert.Equal(RequestStatus.Pending, (await ca.Store.GetRequestAsync(id, CancellationToken.None))!.Status);
        Assert.Empty(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));

        ManualProfile(ca.Options);
        await ca.RestartAsync();
        IssuanceResult approved = await ca.Authority.ApproveAsync(id, "operator", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, approved.Status);
        Assert.Equal("CN=elsewhere", approved.Certificate!.Subject);
    }

    [Fact]
    public async Task Operator_calls_validate_their_arguments()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => ca.Authority.ApproveAsync(12345, "op", CancellationToken.None));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => ca.Authority.RejectAsync(12345, "op", "no", CancellationToken.None));
        long id = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(), "manual"), CancellationToken.None)).RequestId!.Value;
        await Assert.ThrowsAsync<ArgumentException>(() => ca.Authority.ApproveAsync(id, "", CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => ca.Authority.RejectAsync(id, "op", new string('r', CertificateAuthority.MaxOperatorTextLength + 1), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ca.Authority.ListPendingAsync(0, CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_approvals_issue_exactly_one_certificate()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        long id = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(), "manual"), CancellationToken.None)).RequestId!.Value;
        IssuanceResult[] results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => ca.Authority.ApproveAsync(id, $"op{i}", CancellationToken.None))));
        Assert.All(results, r => Assert.Equal(IssuanceStatus.Issued, r.Status));
        Assert.Single(results.Select(r => r.Certificate!.SerialNumber).Distinct());
        Assert.Single(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task Approval_rechecks_the_request_against_the_current_profile()
    {
        await using TestCa ca = await TestCa.CreateAsync(ManualProfile);
        long id = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(), "manual"), CancellationToken.None)).RequestId!.Value;
        ca.Options.Profiles!["manual"] = new CertificateProfileOptions { RequiresApproval = true, AcceptedKeyTypes = ["RSA"] };
        await ca.RestartAsync();
        IssuanceResult result = await ca.Authority.ApproveAsync(id, "op", CancellationToken.None);
        Assert.Equal(RejectionReason.UnsupportedKeyType, result.Reason);
        Assert.Equal(RequestStatus.Rejected, (await ca.Store.GetRequestAsync(id, CancellationToken.None))!.Status);
    }
}
