using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// What every <see cref="ICertificateStore"/> (and <see cref="ISharedSecretStore"/>) must do, run against each store by a subclass.
/// Each test has a fresh empty store; <see cref="OpenAsync"/> opens another instance on the same database, as a second process or
/// node would, so that the rules are tested across instances and not only within one.
/// </summary>
public abstract class CertificateStoreContract : IAsyncLifetime
{
    private readonly List<ICertificateStore> _opened = [];
    private TestCa? _ca;

    /// <summary>The store under test, opened on a fresh database.</summary>
    protected ICertificateStore Store { get; private set; } = null!;

    private TestCa Ca => _ca!;

    public async Task InitializeAsync()
    {
        // The hierarchy signs the certificates the tests store; the CA's own SQLite store is not the one under test.
        _ca = await TestCa.CreateAsync();
        await CreateDatabaseAsync();
        Store = await OpenAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (ICertificateStore store in _opened)
        {
            await store.DisposeAsync();
        }

        if (_ca is not null)
        {
            await _ca.DisposeAsync();
        }
    }

    /// <summary>Creates the empty database of this test.</summary>
    protected abstract Task CreateDatabaseAsync();

    /// <summary>Opens a new store instance on this test's database (disposed with the test).</summary>
    protected async Task<ICertificateStore> OpenAsync()
    {
        ICertificateStore store = await OpenStoreAsync(CancellationToken.None);
        _opened.Add(store);
        return store;
    }

    /// <summary>Opens a store on this test's database.</summary>
    protected abstract Task<ICertificateStore> OpenStoreAsync(CancellationToken cancellationToken);

    [Fact]
    public async Task Issued_IsStoredWithItsRequestAndAudit_AndFoundByKeySerialRequesterAndSubject()
    {
        StoredCertificate certificate = Certificate("CN=dev-1, O=Acme", "dev-1");
        StoredRequest stored = await Store.AddIssuedAsync(Request("key-1", "dev-1") with { OverridePublicKey = [4, 5, 6], Registrar = "CN=registrar-1" },
            certificate, Audit("issue dev-1"), CancellationToken.None);

        Assert.True(stored.Id > 0);
        Assert.Equal((RequestStatus.Issued, certificate.SerialNumber, "dev-1"), (stored.Status, stored.IssuedSerialNumber, stored.Identity));
        StoredRequest read = (await Store.GetRequestByKeyAsync("key-1", CancellationToken.None))!;
        Assert.Equal(stored, read with { CsrDer = stored.CsrDer, OverridePublicKey = stored.OverridePublicKey });
        Assert.Equal(stored.CsrDer, read.CsrDer);
        Assert.Equal([4, 5, 6], read.OverridePublicKey!);
        Assert.Equal("CN=registrar-1", read.Registrar);
        Assert.Equal(stored.CreatedAt, read.CreatedAt);

        StoredCertificate found = (await Store.GetCertificateAsync(certificate.SerialNumber.ToLowerInvariant(), CancellationToken.None))!;
        Assert.Equal((stored.Id, CertificateStatus.Active, "dev-1"), (found.RequestId, found.Status, found.Identity));
        Assert.Equal(certificate.Der, found.Der);
        Assert.Equal(certificate.NotAfter, found.NotAfter);
        Assert.Equal(certificate.SerialNumber, Assert.Single(await Store.FindCertificatesByRequesterAsync("dev-1", 10, CancellationToken.None)).SerialNumber);
        Assert.Equal(certificate.SerialNumber, Assert.Single(await Store.FindCertificatesBySubjectAsync(certificate.Subject, 10, CancellationToken.None)).SerialNumber);
        Assert.Null(await Store.GetCertificateAsync("00", CancellationToken.None));
        Assert.Null(await Store.GetRequestByKeyAsync("key-2", CancellationToken.None));
        Assert.Equal("issue dev-1", Assert.Single(await Store.ListAuditAsync(10, CancellationToken.None)).Details);
    }

    [Fact]
    public async Task Pending_IsCountedListedAndCompletedOnce_OrRejectedOnce()
    {
        StoredRequest first = await Store.AddPendingAsync(Request("p-1", "dev-1"), Audit("pending 1"), CancellationToken.None);
        StoredRequest second = await Store.AddPendingAsync(Request("p-2", "dev-2"), Audit("pending 2"), CancellationToken.None);
        Assert.Equal((2, 1), await Store.CountPendingRequestsAsync("dev-1", CancellationToken.None));
        Assert.Equal([first.Id, second.Id], (await Store.ListPendingRequestsAsync(10, CancellationToken.None)).Select(r => r.Id));

        StoredCertificate certificate = Certificate("CN=dev-1", "dev-1");
        StoredRequest completed = await Store.CompletePendingAsync(first.Id, certificate, Audit("approve 1"), CancellationToken.None);
        Assert.Equal((RequestStatus.Issued, certificate.SerialNumber), (completed.Status, completed.IssuedSerialNumber));
        var again = await Assert.ThrowsAsync<CertificateStoreConflictException>(() =>
            Store.CompletePendingAsync(first.Id, Certificate("CN=dev-1", "dev-1"), Audit("approve 1 again"), CancellationToken.None));
        Assert.Equal(StoreConflict.RequestState, again.Conflict);

        StoredRequest rejected = await Store.RejectPendingAsync(second.Id, RejectionReason.RejectedByOperator, "no", Audit("reject 2"), CancellationToken.None);
        Assert.Equal((RequestStatus.Rejected, RejectionReason.RejectedByOperator, "no"), (rejected.Status, rejected.RejectionReason, rejected.ReasonDetail));
        Assert.Equal(StoreConflict.RequestState, (await Assert.ThrowsAsync<CertificateStoreConflictException>(() =>
            Store.RejectPendingAsync(first.Id, RejectionReason.RejectedByOperator, "late", Audit("reject 1"), CancellationToken.None))).Conflict);
        Assert.Equal(StoreConflict.RequestState, (await Assert.ThrowsAsync<CertificateStoreConflictException>(() =>
            Store.RejectPendingAsync(12345, RejectionReason.RejectedByOperator, "absent", Audit("reject absent"), CancellationToken.None))).Conflict);

        Assert.Equal((0, 0), await Store.CountPendingRequestsAsync("dev-1", CancellationToken.None));
        Assert.Equal([second.Id, first.Id], (await Store.ListRequestsAsync(null, 10, CancellationToken.None)).Select(r => r.Id));
        Assert.Equal([second.Id], (await Store.ListRequestsAsync(RequestStatus.Rejected, 10, CancellationToken.None)).Select(r => r.Id));
        Assert.Equal(["reject 2", "approve 1", $"request {second.Id}: pending 2", $"request {first.Id}: pending 1"],
            (await Store.ListAuditAsync(10, CancellationToken.None)).Select(a => a.Details));
    }

    [Fact]
    public async Task ARepeatedRequestKey_OrSerial_IsAConflict_AndWritesNothing()
    {
        StoredCertificate certificate = Certificate("CN=dev-1", "dev-1");
        await Store.AddIssuedAsync(Request("key-1", "dev-1"), certificate, Audit("issue"), CancellationToken.None);

        var key = await Assert.ThrowsAsync<CertificateStoreConflictException>(() =>
            Store.AddIssuedAsync(Request("key-1", "dev-1"), Certificate("CN=dev-1", "dev-1"), Audit("issue again"), CancellationToken.None));
        Assert.Equal(StoreConflict.RequestKey, key.Conflict);
        Assert.Equal(StoreConflict.RequestKey, (await Assert.ThrowsAsync<CertificateStoreConflictException>(() =>
            Store.AddPendingAsync(Request("key-1", "dev-1"), Audit("pending again"), CancellationToken.None))).Conflict);

        var serial = await Assert.ThrowsAsync<CertificateStoreConflictException>(() =>
            Store.AddIssuedAsync(Request("key-2", "dev-1"), Certificate("CN=dev-1", "dev-1") with { SerialNumber = certificate.SerialNumber.ToLowerInvariant() },
                Audit("same serial"), CancellationToken.None));
        Assert.Equal(StoreConflict.SerialNumber, serial.Conflict);

        Assert.Single(await Store.ListRequestsAsync(null, 10, CancellationToken.None));
        Assert.Single(await Store.ListCertificatesAsync(10, CancellationToken.None));
        Assert.Equal("issue", Assert.Single(await Store.ListAuditAsync(10, CancellationToken.None)).Details);
        Assert.Null(await Store.GetRequestByKeyAsync("key-2", CancellationToken.None));
    }

    [Fact]
    public async Task Rejected_IsStoredWithoutItsRequestKey_AndNeedsAReason()
    {
        StoredRequest rejected = await Store.AddRejectedAsync(Request("key-1", "dev-1"), RejectionReason.SubjectAltNameNotAllowed, "bad name", Audit("refused"), CancellationToken.None);
        Assert.Equal((RequestStatus.Rejected, null, RejectionReason.SubjectAltNameNotAllowed, "bad name"), (rejected.Status, rejected.RequestKey, rejected.RejectionReason, rejected.ReasonDetail));
        Assert.Null(await Store.GetRequestByKeyAsync("key-1", CancellationToken.None));
        // A second refusal with the same key, and then an issuance with it: no conflict.
        await Store.AddRejectedAsync(Request("key-1", "dev-1"), RejectionReason.SubjectAltNameNotAllowed, "bad name", Audit("refused"), CancellationToken.None);
        await Store.AddIssuedAsync(Request("key-1", "dev-1"), Certificate("CN=dev-1", "dev-1"), Audit("issue"), CancellationToken.None);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            Store.AddRejectedAsync(Request(null, "dev-1"), RejectionReason.None, "", Audit("x"), CancellationToken.None));
        StoredRequest read = (await Store.GetRequestAsync(rejected.Id, CancellationToken.None))!;
        Assert.Equal((RequestStatus.Rejected, RejectionReason.SubjectAltNameNotAllowed, "bad name"), (read.Status, read.RejectionReason, read.ReasonDetail));
    }

    [Fact]
    public async Task Reenrollment_SupersedesTheReplacedCertificate()
    {
        StoredCertificate old = Certificate("CN=dev-1", "dev-1");
        await Store.AddIssuedAsync(Request("key-1", "dev-1"), old, Audit("issue"), CancellationToken.None);
        StoredCertificate renewed = Certificate("CN=dev-1", "dev-1", replaces: old.SerialNumber);
        StoredRequest renewal = await Store.AddIssuedAsync(Request("key-2", "dev-1") with { ReplacesSerialNumber = old.SerialNumber }, renewed, Audit("reenroll"), CancellationToken.None);
        // A refused re-enrollment of the same certificate is not one that replaced it.
        await Store.AddRejectedAsync(Request("key-3", "dev-1") with { ReplacesSerialNumber = old.SerialNumber }, RejectionReason.RejectedByOperator, "no", Audit("refused"), CancellationToken.None);

        Assert.Equal(CertificateStatus.Superseded, (await Store.GetCertificateAsync(old.SerialNumber, CancellationToken.None))!.Status);
        StoredCertificate current = (await Store.GetCertificateAsync(renewed.SerialNumber, CancellationToken.None))!;
        Assert.Equal((CertificateStatus.Active, old.SerialNumber), (current.Status, current.ReplacesSerialNumber));
        Assert.Equal([renewed.SerialNumber, old.SerialNumber], (await Store.ListCertificatesAsync(10, CancellationToken.None)).Select(c => c.SerialNumber));
        Assert.Equal([renewal.Id], (await Store.FindRequestsReplacingAsync(old.SerialNumber.ToLowerInvariant(), 10, CancellationToken.None)).Select(r => r.Id));
        Assert.Empty(await Store.FindRequestsReplacingAsync(renewed.SerialNumber, 10, CancellationToken.None));
    }

    [Fact]
    public async Task AName_HasOneHolderIdentity_UntilItsCertificateIsNoLongerActive()
    {
        StoredCertificate held = Certificate("CN=dev-1, O=Acme", "alice");
        await Store.AddIssuedAsync(Request("key-1", "alice"), held, Audit("issue"), CancellationToken.None);

        // Same name in another spelling: the subject key compares names, not strings.
        var conflict = await Assert.ThrowsAsync<CertificateStoreConflictException>(() =>
            Store.AddIssuedAsync(Request("key-2", "bob"), Certificate("CN=DEV-1,O=acme", "bob"), Audit("bob"), CancellationToken.None));
        Assert.Equal(StoreConflict.SubjectHeld, conflict.Conflict);
        Assert.Equal(held.SerialNumber, (await Store.FindNameHolderAsync(new X500DistinguishedName("CN=dev-1, O=Acme"), "bob", CancellationToken.None))!.SerialNumber);
        Assert.Null(await Store.FindNameHolderAsync(new X500DistinguishedName("CN=dev-1, O=Acme"), "alice", CancellationToken.None));

        // The holder itself may have several.
        await Store.AddIssuedAsync(Request("key-3", "alice"), Certificate("CN=dev-1, O=Acme", "alice"), Audit("alice again"), CancellationToken.None);

        foreach (StoredCertificate certificate in await Store.FindCertificatesByRequesterAsync("alice", 10, CancellationToken.None))
        {
            Assert.True(await Store.SetCertificateStatusAsync(certificate.SerialNumber, CertificateStatus.Superseded, Audit("supersede"), CancellationToken.None));
        }

        Assert.Null(await Store.FindNameHolderAsync(new X500DistinguishedName("CN=dev-1, O=Acme"), "bob", CancellationToken.None));
        await Store.AddIssuedAsync(Request("key-2", "bob"), Certificate("CN=dev-1, O=Acme", "bob"), Audit("bob"), CancellationToken.None);
    }

    [Fact]
    public async Task Revocation_IsFinal_KeepsItsFirstReasonAndTime_AndIsListed()
    {
        StoredCertificate certificate = Certificate("CN=dev-1", "dev-1");
        StoredCertificate other = Certificate("CN=dev-2", "dev-2");
        await Store.AddIssuedAsync(Request("key-1", "dev-1"), certificate, Audit("issue"), CancellationToken.None);
        await Store.AddIssuedAsync(Request("key-2", "dev-2"), other, Audit("issue"), CancellationToken.None);
        DateTimeOffset at = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

        Assert.Equal(RevocationStatus.Revoked, await Store.RevokeCertificateAsync(certificate.SerialNumber.ToLowerInvariant(), 1, at, Audit("revoke"), CancellationToken.None));
        Assert.Equal(RevocationStatus.AlreadyRevoked, await Store.RevokeCertificateAsync(certificate.SerialNumber, 4, at.AddDays(1), CancellationToken.None));
        Assert.Equal(RevocationStatus.UnknownCertificate, await Store.RevokeCertificateAsync("ABCDEF", 1, at, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.RevokeCertificateAsync(other.SerialNumber, 7, at, CancellationToken.None));
        Assert.False(await Store.SetCertificateStatusAsync(certificate.SerialNumber, CertificateStatus.Active, Audit("unrevoke"), CancellationToken.None));
        Assert.False(await Store.SetCertificateStatusAsync("ABCDEF", CertificateStatus.Revoked, Audit("absent"), CancellationToken.None));

        // Revoked by status: reason 0, now.
        DateTimeOffset before = DateTimeOffset.UtcNow.AddSeconds(-5);
        Assert.True(await Store.SetCertificateStatusAsync(other.SerialNumber, CertificateStatus.Revoked, Audit("revoke by status"), CancellationToken.None));

        StoredCertificate revoked = (await Store.GetCertificateAsync(certificate.SerialNumber, CancellationToken.None))!;
        Assert.Equal((CertificateStatus.Revoked, 1, at), (revoked.Status, revoked.RevocationReason, revoked.RevokedAt));
        IReadOnlyList<RevokedCertificate> list = await Store.ListRevokedAsync(CancellationToken.None);
        Assert.Equal(2, list.Count);
        RevokedCertificate first = Assert.Single(list, r => r.SerialNumber == certificate.SerialNumber);
        Assert.Equal((1, at), (first.Reason, first.RevokedAt));
        RevokedCertificate second = Assert.Single(list, r => r.SerialNumber == other.SerialNumber);
        Assert.Equal(0, second.Reason);
        Assert.True(second.RevokedAt > before);
        Assert.Equal(["revoke by status", "revoke", "issue", "issue"], (await Store.ListAuditAsync(10, CancellationToken.None)).Select(a => a.Details));
    }

    [Fact]
    public async Task CrlNumbers_Count_AcrossInstances_WithoutRepeats()
    {
        ICertificateStore second = await OpenAsync();
        Assert.Equal(1, await Store.NextCrlNumberAsync(0, CancellationToken.None));
        Assert.Equal(2, await second.NextCrlNumberAsync(0, CancellationToken.None));
        long[] numbers = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => (i % 2 == 0 ? Store : second).NextCrlNumberAsync(0, CancellationToken.None))));
        Assert.Equal(Enumerable.Range(3, 10).Select(n => (long)n), numbers.Order());
    }

    [Fact]
    public async Task CrlNumbers_TakeTheFloorWhenItIsMore_AndNeverGoBack()
    {
        Assert.Equal(1, await Store.NextCrlNumberAsync(0, CancellationToken.None));
        Assert.Equal(1_000, await Store.NextCrlNumberAsync(1_000, CancellationToken.None));
        Assert.Equal(1_001, await Store.NextCrlNumberAsync(500, CancellationToken.None));
        Assert.Equal(1_002, await Store.NextCrlNumberAsync(1_001, CancellationToken.None));
    }

    [Fact]
    public async Task Audit_IsNewestFirst_TruncatedToItsLimit_AndLimitsAreChecked()
    {
        DateTimeOffset at = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        await Store.AppendAuditAsync(new AuditEntry { Timestamp = at, Actor = "op", Action = "a", Details = "first" }, CancellationToken.None);
        await Store.AppendAuditAsync(Audit(new string('x', AuditEntry.MaxDetailsLength + 10)), CancellationToken.None);
        IReadOnlyList<AuditEntry> audit = await Store.ListAuditAsync(10, CancellationToken.None);
        Assert.Equal(AuditEntry.MaxDetailsLength, audit[0].Details.Length);
        Assert.Equal(("op", "a", "first", at), (audit[1].Actor, audit[1].Action, audit[1].Details, audit[1].Timestamp));
        Assert.True(audit[0].Id > audit[1].Id);
        Assert.Single(await Store.ListAuditAsync(1, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ListAuditAsync(0, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ListCertificatesAsync(10_001, CancellationToken.None));
    }

    [Fact]
    public async Task TwoInstances_AddingPendingRequests_AtOnce_NeverPassTheBounds()
    {
        ICertificateStore second = await OpenAsync();
        var limits = new PendingLimits(MaxTotal: 5, MaxPerIdentity: 3);
        // 24 requests from two instances (two nodes) at once, 12 for dev-a and 12 spread over other identities.
        Task<PendingAdmission>[] attempts = Enumerable.Range(0, 24).Select(i => Task.Run(() =>
            (i % 2 == 0 ? Store : second).TryAddPendingAsync(Request($"p-{i}", "r") with { Identity = i < 12 ? "dev-a" : $"dev-{i}" },
                Audit($"pending {i}"), limits, CancellationToken.None))).ToArray();
        PendingAdmission[] results = await Task.WhenAll(attempts);

        IReadOnlyList<StoredRequest> pending = await Store.ListPendingRequestsAsync(100, CancellationToken.None);
        Assert.Equal(5, pending.Count);
        Assert.True(pending.Count(r => r.Identity == "dev-a") <= 3);
        Assert.Equal(5, results.Count(r => r.Stored is not null));
        Assert.All(results.Where(r => r.Stored is null), r => Assert.True(r.TotalLimitReached || r.IdentityLimitReached));
        Assert.Equal((5, pending.Count(r => r.Identity == "dev-a")), await second.CountPendingRequestsAsync("dev-a", CancellationToken.None));

        // A refusal writes nothing, not even its audit entry.
        Assert.Equal(5, (await Store.ListAuditAsync(100, CancellationToken.None)).Count(a => a.Details.Contains("pending", StringComparison.Ordinal)));

        // Per identity: with room in total, a fourth request of dev-b is refused for its identity only.
        var roomy = new PendingLimits(MaxTotal: 100, MaxPerIdentity: 3);
        for (int i = 0; i < 3; i++)
        {
            Assert.NotNull((await second.TryAddPendingAsync(Request($"b-{i}", "r") with { Identity = "dev-b" }, Audit("b"), roomy, CancellationToken.None)).Stored);
        }

        PendingAdmission fourth = await Store.TryAddPendingAsync(Request("b-3", "r") with { Identity = "dev-b" }, Audit("b"), roomy, CancellationToken.None);
        Assert.Equal((null, true, false, 8), (fourth.Stored, fourth.IdentityLimitReached, fourth.TotalLimitReached, fourth.PendingBefore));
    }

    [Fact]
    public async Task TwoInstances_RacingOnOneRequestKey_StoreOneRequest_AndOneCertificatePerSerial()
    {
        ICertificateStore second = await OpenAsync();
        StoredRequest request = Request("raced", "dev-1");
        // Each attempt its own certificate (its own serial): exactly one request, and so one certificate, is stored.
        Task<StoredRequest>[] attempts = Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            (i % 2 == 0 ? Store : second).AddIssuedAsync(request, Certificate("CN=dev-1", "dev-1"), Audit($"attempt {i}"), CancellationToken.None))).ToArray();
        await SettleAsync(attempts);
        Assert.Equal(1, attempts.Count(a => a.IsCompletedSuccessfully));
        AssertConflicts(attempts, StoreConflict.RequestKey);
        Assert.Single(await Store.ListCertificatesAsync(10, CancellationToken.None));

        // One serial, many requests: one certificate.
        StoredCertificate certificate = Certificate("CN=dev-2", "dev-2");
        Task<StoredRequest>[] serials = Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            (i % 2 == 0 ? Store : second).AddIssuedAsync(Request($"serial-{i}", "dev-2"), certificate, Audit($"serial {i}"), CancellationToken.None))).ToArray();
        await SettleAsync(serials);
        Assert.Equal(1, serials.Count(a => a.IsCompletedSuccessfully));
        AssertConflicts(serials, StoreConflict.SerialNumber);
        Assert.Equal(2, (await Store.ListCertificatesAsync(10, CancellationToken.None)).Count);
        Assert.Equal(2, (await second.ListRequestsAsync(null, 10, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task TwoIdentities_RacingForOneName_OnTwoInstances_OneGetsIt()
    {
        ICertificateStore second = await OpenAsync();
        Task<StoredRequest>[] attempts = Enumerable.Range(0, 6).Select(i => Task.Run(() =>
            (i % 2 == 0 ? Store : second).AddIssuedAsync(Request($"k-{i}", $"identity-{i}"), Certificate("CN=contested", $"identity-{i}"), Audit($"{i}"), CancellationToken.None))).ToArray();
        await SettleAsync(attempts);
        Assert.Equal(1, attempts.Count(a => a.IsCompletedSuccessfully));
        AssertConflicts(attempts, StoreConflict.SubjectHeld);
    }

    [Fact]
    public async Task TwoAuthorities_OnTwoInstances_IssueOneRequestOnce_AndManyWithoutDuplicateSerials()
    {
        ICertificateStore second = await OpenAsync();
        CertificateAuthority[] nodes = [Authority(Store), Authority(second)];

        // The same request (same request key) reaching both nodes at once, several times: one certificate, every answer that one.
        IssuanceRequest request = TestCa.Request(TestCa.Csr("CN=race-1"), requestKey: "race-key");
        IssuanceResult[] results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => nodes[i % 2].IssueAsync(request, CancellationToken.None))));
        Assert.All(results, r => Assert.Equal(IssuanceStatus.Issued, r.Status));
        Assert.Single(results.Select(r => r.Certificate!.SerialNumber).Distinct());
        Assert.Single(await Store.FindCertificatesBySubjectAsync("CN=race-1", 10, CancellationToken.None));
        Assert.Single(results, r => !r.Repeated);

        // Many different requests on both nodes at once: every serial once.
        IssuanceResult[] many = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            nodes[i % 2].IssueAsync(TestCa.Request(TestCa.Csr($"CN=many-{i}"), requestKey: $"many-{i}", requester: $"dev-{i}"), CancellationToken.None))));
        Assert.All(many, r => Assert.Equal(IssuanceStatus.Issued, r.Status));
        IReadOnlyList<StoredCertificate> stored = await second.ListCertificatesAsync(100, CancellationToken.None);
        Assert.Equal(41, stored.Count);
        Assert.Equal(41, stored.Select(c => c.SerialNumber).Distinct().Count());
    }

    [Fact]
    public async Task SharedSecrets_AddGetListRemove_KeepEveryField_AndAuditWithoutTheSecret()
    {
        var store = (ISharedSecretStore)Store;
        DateTimeOffset expires = DateTimeOffset.UtcNow.AddDays(7);
        var secret = new StoredSharedSecret
        {
            Reference = "onboard-17", Secret = Encoding.UTF8.GetBytes("s3cret-value-0001"), Profile = "iot", Subject = "CN=device-17, O=Acme",
            ExpiresAt = expires, OneTime = true,
        };
        Assert.True(await store.TryAddSharedSecretAsync(secret, Audit("secret-add onboard-17"), CancellationToken.None));
        Assert.False(await store.TryAddSharedSecretAsync(secret with { Secret = [1] }, Audit("again"), CancellationToken.None));

        StoredSharedSecret read = (await store.GetSharedSecretAsync("onboard-17", CancellationToken.None))!;
        Assert.Equal("s3cret-value-0001", Encoding.UTF8.GetString(read.Secret));
        Assert.Equal(("iot", "CN=device-17, O=Acme", false, true), (read.Profile, read.Subject, read.AnyName, read.OneTime));
        Assert.Equal(expires.UtcTicks / TimeSpan.TicksPerMillisecond, read.ExpiresAt!.Value.UtcTicks / TimeSpan.TicksPerMillisecond);
        Assert.True(read.CreatedAt > DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.Null(read.ConsumedAt);
        Assert.Null(await store.GetSharedSecretAsync("ONBOARD-17", CancellationToken.None));

        Assert.True(await store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "a-first", Secret = [7], AnyName = true }, Audit("secret-add a-first"), CancellationToken.None));
        Assert.Equal(["a-first", "onboard-17"], (await store.ListSharedSecretsAsync(10, CancellationToken.None)).Select(s => s.Reference));
        Assert.True((await store.GetSharedSecretAsync("a-first", CancellationToken.None))!.AnyName);

        Assert.True(await store.RemoveSharedSecretAsync("onboard-17", Audit("secret-remove onboard-17"), CancellationToken.None));
        Assert.False(await store.RemoveSharedSecretAsync("onboard-17", Audit("nothing"), CancellationToken.None));
        Assert.Null(await store.GetSharedSecretAsync("onboard-17", CancellationToken.None));

        IReadOnlyList<AuditEntry> audit = await Store.ListAuditAsync(10, CancellationToken.None);
        Assert.Equal(["secret-remove onboard-17", "secret-add a-first", "secret-add onboard-17"], audit.Select(a => a.Details));
        Assert.DoesNotContain(audit, a => a.Details.Contains("s3cret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OneTimeSecret_IsConsumedOnce_EvenByRacingEnrollmentsOnTwoInstances_AndCanBeReleasedByItsConsumer()
    {
        var store = (ISharedSecretStore)Store;
        var other = (ISharedSecretStore)await OpenAsync();
        await store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "code", Secret = [1, 2, 3], OneTime = true }, Audit("add"), CancellationToken.None);
        await store.TryAddSharedSecretAsync(new StoredSharedSecret { Reference = "reusable", Secret = [4] }, Audit("add"), CancellationToken.None);

        bool[] won = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            (i % 2 == 0 ? store : other).TryConsumeSharedSecretAsync("code", $"transaction-{i}", Audit($"consumed by {i}"), CancellationToken.None))));
        Assert.Single(won, w => w);
        StoredSharedSecret consumed = (await store.GetSharedSecretAsync("code", CancellationToken.None))!;
        Assert.True(consumed.IsConsumed);
        string winner = $"transaction-{Array.IndexOf(won, true)}";
        Assert.Equal(winner, consumed.ConsumedBy);

        // Only the consumer gives it back.
        await store.ReleaseSharedSecretAsync("code", "someone-else", CancellationToken.None);
        Assert.True((await store.GetSharedSecretAsync("code", CancellationToken.None))!.IsConsumed);
        await other.ReleaseSharedSecretAsync("code", winner, CancellationToken.None);
        Assert.False((await store.GetSharedSecretAsync("code", CancellationToken.None))!.IsConsumed);

        // A secret that is not one-time is never consumed.
        Assert.False(await store.TryConsumeSharedSecretAsync("reusable", "t", Audit("x"), CancellationToken.None));
        Assert.False(await store.TryConsumeSharedSecretAsync("absent", "t", Audit("x"), CancellationToken.None));
    }

    [Fact]
    public async Task Transactions_AreAddedOnce_ReadBack_AndUpdatedOnlyFromTheVersionRead_AcrossInstances()
    {
        var store = (ITransactionStore)Store;
        var other = (ITransactionStore)await OpenAsync();
        DateTimeOffset expires = DateTimeOffset.UtcNow.AddMinutes(5);
        var opened = new StoredTransaction { Id = "cmp:01", Owner = "secret:dev-1", Data = [1, 2, 3], ExpiresAt = expires };

        // Many instances opening one id at once: one succeeds.
        bool[] added = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => (i % 2 == 0 ? store : other).TryAddTransactionAsync(opened, CancellationToken.None))));
        Assert.Single(added, a => a);
        StoredTransaction read = (await other.GetTransactionAsync("cmp:01", CancellationToken.None))!;
        Assert.Equal(("secret:dev-1", (string?)null, 1L, false), (read.Owner, read.Reference, read.Version, read.Closed));
        Assert.Equal([1, 2, 3], read.Data);
        Assert.True((read.ExpiresAt - expires).Duration() < TimeSpan.FromMilliseconds(1));
        Assert.Null(await store.GetTransactionAsync("cmp:02", CancellationToken.None));

        // Two nodes continuing from the same version: one update wins, the other finds the version moved on.
        StoredTransaction?[] updated = await Task.WhenAll(
            Task.Run(() => store.TryUpdateTransactionAsync(read with { Data = [4], Reference = "AB01" }, CancellationToken.None)),
            Task.Run(() => other.TryUpdateTransactionAsync(read with { Data = [5], Reference = "AB01" }, CancellationToken.None)));
        StoredTransaction winner = Assert.Single(updated, u => u is not null)!;
        Assert.Equal(2L, winner.Version);
        StoredTransaction now = (await store.GetTransactionAsync("cmp:01", CancellationToken.None))!;
        Assert.Equal((winner.Data[0], 2L, "AB01"), (now.Data[0], now.Version, now.Reference));

        // Closed: no update continues it, and its id stays taken until it is taken away as expired.
        StoredTransaction closed = (await other.TryUpdateTransactionAsync(now with { Closed = true }, CancellationToken.None))!;
        Assert.True(closed.Closed);
        Assert.Null(await store.TryUpdateTransactionAsync(closed with { Data = [9] }, CancellationToken.None));
        Assert.False(await store.TryAddTransactionAsync(opened, CancellationToken.None));

        await Assert.ThrowsAsync<ArgumentException>(() => store.TryAddTransactionAsync(opened with { Id = new string('x', StoredTransaction.MaxIdLength + 1) }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.TryAddTransactionAsync(opened with { Id = "cmp:03", Data = new byte[StoredTransaction.MaxDataLength + 1] }, CancellationToken.None));
        Assert.Null(await store.GetTransactionAsync("cmp:03", CancellationToken.None));
    }

    [Fact]
    public async Task ExpiredTransactions_AreTakenByExactlyOneInstance_AndOthersOfAReferenceClosed()
    {
        var store = (ITransactionStore)Store;
        var other = (ITransactionStore)await OpenAsync();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        for (int i = 0; i < 20; i++)
        {
            Assert.True(await store.TryAddTransactionAsync(new StoredTransaction
            {
                Id = $"cmp:{i:D2}", Owner = i < 18 ? "dev-1" : "dev-2", Reference = "SERIAL", Data = [(byte)i], ExpiresAt = now.AddMinutes(i < 10 ? -1 : 10),
            }, CancellationToken.None));
        }

        // The ten expired ones, taken by four instances sweeping at once: each once.
        ITransactionStore third = (ITransactionStore)await OpenAsync();
        IReadOnlyList<StoredTransaction>[] taken = await Task.WhenAll(new[] { store, other, third, store }.Select(s =>
            Task.Run(() => s.TakeExpiredTransactionsAsync("cmp:", now, 4, CancellationToken.None))));
        List<string> ids = [.. taken.SelectMany(t => t).Select(t => t.Id)];
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(taken, t => Assert.True(t.Count <= 4));
        ids.AddRange((await store.TakeExpiredTransactionsAsync("cmp:", now, 100, CancellationToken.None)).Select(t => t.Id));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"cmp:{i:D2}"), ids.Order(StringComparer.Ordinal));
        Assert.Null(await store.GetTransactionAsync("cmp:00", CancellationToken.None));
        Assert.Empty(await other.TakeExpiredTransactionsAsync("cmp:", now, 100, CancellationToken.None));

        // Another protocol's expired transaction is not taken by a sweep of "cmp:".
        Assert.True(await store.TryAddTransactionAsync(new StoredTransaction { Id = "cm:x", Owner = "dev-1", Data = [], ExpiresAt = now.AddMinutes(-1) }, CancellationToken.None));
        Assert.Empty(await other.TakeExpiredTransactionsAsync("cmp:", now, 100, CancellationToken.None));
        Assert.Equal("cm:x", Assert.Single(await other.TakeExpiredTransactionsAsync("cm:", now, 100, CancellationToken.None)).Id);

        // dev-1's open transactions about SERIAL but cmp:10 are closed; dev-2's are not.
        Assert.Equal(7, await other.CloseTransactionsAsync("dev-1", "SERIAL", "cmp:10", now.AddMinutes(1), CancellationToken.None));
        Assert.False((await store.GetTransactionAsync("cmp:10", CancellationToken.None))!.Closed);
        Assert.True((await store.GetTransactionAsync("cmp:11", CancellationToken.None))!.Closed);
        Assert.False((await store.GetTransactionAsync("cmp:18", CancellationToken.None))!.Closed);
        Assert.Equal(0, await store.CloseTransactionsAsync("dev-1", "SERIAL", "cmp:10", now.AddMinutes(1), CancellationToken.None));
        Assert.Equal(7, (await store.TakeExpiredTransactionsAsync("cmp:", now.AddMinutes(2), 100, CancellationToken.None)).Count);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.TakeExpiredTransactionsAsync("cmp:", now, 0, CancellationToken.None));
    }

    private static void AssertConflicts(IEnumerable<Task> attempts, StoreConflict conflict)
    {
        foreach (Task failed in attempts.Where(a => !a.IsCompletedSuccessfully))
        {
            Assert.Equal(conflict, Assert.IsType<CertificateStoreConflictException>(failed.Exception!.InnerException).Conflict);
        }
    }

    private static async Task SettleAsync(IEnumerable<Task> tasks)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (CertificateStoreConflictException)
        {
            // Inspected task by task.
        }
    }

    private CertificateAuthority Authority(ICertificateStore store) =>
        new(Ca.Hierarchy, store, CertificateProfileCatalog.FromOptions(Ca.Options), new ReservedNames(Ca.Hierarchy, [Ca.ServerCertificate]));

    private StoredCertificate Certificate(string subject, string identity, string? replaces = null)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        X509Certificate2 certificate = CertificateFactory.Sign(new X500DistinguishedName(subject), new PublicKey(key), Ca.Hierarchy.IssuingCa,
            now.AddMinutes(-1), now.AddDays(1), CertificateFactory.NewSerialNumber(), []);
        return StoredCertificate.FromCertificate(certificate, "default", identity, replaces) with { Identity = identity };
    }

    private static StoredRequest Request(string? key, string requester) => new()
    {
        RequestKey = key,
        CsrDer = TestCa.Csr(),
        Requester = requester,
        Protocol = "est-coaps",
        Profile = "default",
    };

    private static AuditEntry Audit(string details) => new() { Actor = "test", Action = "test", Details = details };
}
