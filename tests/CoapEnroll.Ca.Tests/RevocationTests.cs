using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// Revocation in the store and the CA (RFC 5280 CRLReason codes, revocation final, audited) and the CRL the CA signs, as openssl
/// reads and checks it.
/// </summary>
public sealed class RevocationTests
{
    [Fact]
    public async Task The_store_revokes_once_and_tells_already_revoked_from_unknown()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string serial = (await IssueAsync(ca, "CN=dev-1")).SerialNumber;
        DateTimeOffset at = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

        Assert.Equal(RevocationStatus.Revoked, await ca.Store.RevokeCertificateAsync(serial.ToLowerInvariant(), RevocationReasons.KeyCompromise, at, CancellationToken.None));
        Assert.Equal(RevocationStatus.AlreadyRevoked, await ca.Store.RevokeCertificateAsync(serial, RevocationReasons.Superseded, at.AddDays(1), CancellationToken.None));
        Assert.Equal(RevocationStatus.UnknownCertificate, await ca.Store.RevokeCertificateAsync("0123456789ABCDEF", RevocationReasons.KeyCompromise, at, CancellationToken.None));

        StoredCertificate stored = (await ca.Store.GetCertificateAsync(serial, CancellationToken.None))!;
        Assert.Equal(CertificateStatus.Revoked, stored.Status);
        Assert.Equal(RevocationReasons.KeyCompromise, stored.RevocationReason);
        Assert.Equal(at, stored.RevokedAt);
        Assert.Equal([new RevokedCertificate(serial, at, RevocationReasons.KeyCompromise)], await ca.Store.ListRevokedAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(11)]
    public async Task Reasons_outside_CRLReason_are_refused(int reason)
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string serial = (await IssueAsync(ca, "CN=dev-1")).SerialNumber;
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ca.Store.RevokeCertificateAsync(serial, reason, DateTimeOffset.UtcNow, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ca.Authority.RevokeAsync(serial, reason, "operator:test", CancellationToken.None));
        Assert.Equal(CertificateStatus.Active, (await ca.Store.GetCertificateAsync(serial, CancellationToken.None))!.Status);
        Assert.Empty(await ca.Store.ListRevokedAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("unspecified", 0)]
    [InlineData("KEYCOMPROMISE", 1)]
    [InlineData("cACompromise", 2)]
    [InlineData("cessationOfOperation", 5)]
    [InlineData("aACompromise", 10)]
    [InlineData("9", 9)]
    public void Reason_names_and_numbers_parse(string text, int expected)
    {
        Assert.True(RevocationReasons.TryParse(text, out int reason));
        Assert.Equal(expected, reason);
    }

    [Theory]
    [InlineData("removeFromCRL")]
    [InlineData("7")]
    [InlineData("-1")]
    [InlineData("compromised")]
    [InlineData("")]
    public void Other_reason_texts_do_not_parse(string text) => Assert.False(RevocationReasons.TryParse(text, out _));

    [Fact]
    public async Task Crl_numbers_increase_and_survive_a_restart()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        Assert.Equal(1, await ca.Store.NextCrlNumberAsync(0, CancellationToken.None));
        Assert.Equal(2, await ca.Store.NextCrlNumberAsync(0, CancellationToken.None));
        await ca.RestartAsync();
        Assert.Equal(3, await ca.Store.NextCrlNumberAsync(0, CancellationToken.None));
    }

    [Fact]
    public async Task A_version_2_store_gets_revocation_columns_and_its_revoked_certificates_an_unspecified_reason()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string revoked = (await IssueAsync(ca, "CN=dev-1")).SerialNumber;
        string active = (await IssueAsync(ca, "CN=dev-2")).SerialNumber;
        await ca.Store.DisposeAsync();
        await using (var connection = new SqliteConnection($"Data Source={ca.Hierarchy.Layout.Database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using SqliteCommand command = connection.CreateCommand();
            // Back to version 2: no revocation columns, no CRL state; a certificate revoked by status alone.
            command.CommandText = """
                ALTER TABLE certificates DROP COLUMN revocation_reason;
                ALTER TABLE certificates DROP COLUMN revoked_at;
                DROP TABLE crl_state;
                UPDATE certificates SET status = 'revoked', updated_at = '2025-03-04T05:06:07.0000000Z' WHERE serial = $serial;
                PRAGMA user_version = 2;
                """;
            command.Parameters.AddWithValue("$serial", revoked);
            await command.ExecuteNonQueryAsync();
        }

        await ca.RestartAsync();
        var at = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);
        Assert.Equal([new RevokedCertificate(revoked, at, RevocationReasons.Unspecified)], await ca.Store.ListRevokedAsync(CancellationToken.None));
        Assert.Equal(RevocationStatus.AlreadyRevoked, (await ca.Authority.RevokeAsync(revoked, RevocationReasons.KeyCompromise, "operator:test", CancellationToken.None)).Status);
        Assert.Equal(RevocationStatus.Revoked, (await ca.Authority.RevokeAsync(active, RevocationReasons.KeyCompromise, "operator:test", CancellationToken.None)).Status);
        Assert.Equal(1, await ca.Store.NextCrlNumberAsync(0, CancellationToken.None));
    }

    [Fact]
    public async Task A_certificate_revoked_by_status_is_listed_with_an_unspecified_reason()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string serial = (await IssueAsync(ca, "CN=dev-1")).SerialNumber;
        Assert.True(await ca.Store.SetCertificateStatusAsync(serial, CertificateStatus.Revoked,
            new AuditEntry { Actor = "test", Action = "status", Details = "" }, CancellationToken.None));
        RevokedCertificate entry = Assert.Single(await ca.Store.ListRevokedAsync(CancellationToken.None));
        Assert.Equal((serial, RevocationReasons.Unspecified), (entry.SerialNumber, entry.Reason));
        Assert.Equal(RevocationStatus.AlreadyRevoked, await ca.Store.RevokeCertificateAsync(serial, 1, DateTimeOffset.UtcNow, CancellationToken.None));
    }

    [Theory]
    [InlineData(CertificateStatus.Active)]
    [InlineData(CertificateStatus.Superseded)]
    public async Task A_revoked_certificate_cannot_be_set_back_to_another_status(CertificateStatus status)
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string serial = (await IssueAsync(ca, "CN=dev-1")).SerialNumber;
        var revokedAt = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);
        Assert.Equal(RevocationStatus.Revoked, await ca.Store.RevokeCertificateAsync(serial, RevocationReasons.KeyCompromise, revokedAt, CancellationToken.None));
        int auditBefore = (await ca.Store.ListAuditAsync(1000, CancellationToken.None)).Count;

        Assert.False(await ca.Store.SetCertificateStatusAsync(serial, status,
            new AuditEntry { Actor = "test", Action = "status", Details = "" }, CancellationToken.None));

        Assert.Equal([new RevokedCertificate(serial, revokedAt, RevocationReasons.KeyCompromise)], await ca.Store.ListRevokedAsync(CancellationToken.None));
        Assert.Equal(auditBefore, (await ca.Store.ListAuditAsync(1000, CancellationToken.None)).Count);
        Assert.True(await ca.Store.SetCertificateStatusAsync(serial, CertificateStatus.Revoked,
            new AuditEntry { Actor = "test", Action = "status", Details = "" }, CancellationToken.None));
        Assert.Equal([new RevokedCertificate(serial, revokedAt, RevocationReasons.KeyCompromise)], await ca.Store.ListRevokedAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_CA_revokes_audits_the_actor_and_reports_repeats_and_unknown_serials()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string serial = (await IssueAsync(ca, "CN=dev-1")).SerialNumber;

        RevocationResult result = await ca.Authority.RevokeAsync(serial.ToLowerInvariant(), RevocationReasons.CessationOfOperation, "operator:alice", CancellationToken.None);
        Assert.Equal(RevocationStatus.Revoked, result.Status);
        Assert.Equal(serial, result.Certificate?.SerialNumber);
        Assert.Equal(CertificateStatus.Revoked, result.Certificate?.Status);
        Assert.Equal(RevocationReasons.CessationOfOperation, result.Certificate?.RevocationReason);
        AuditEntry audit = (await ca.Store.ListAuditAsync(1, CancellationToken.None))[0];
        Assert.Equal(("operator:alice", "revoke"), (audit.Actor, audit.Action));
        Assert.Contains(serial, audit.Details, StringComparison.Ordinal);
        Assert.Contains("cessationOfOperation", audit.Details, StringComparison.Ordinal);

        RevocationResult again = await ca.Authority.RevokeAsync(serial, RevocationReasons.KeyCompromise, "operator:bob", CancellationToken.None);
        Assert.Equal(RevocationStatus.AlreadyRevoked, again.Status);
        Assert.Equal(RevocationReasons.CessationOfOperation, again.Certificate?.RevocationReason);
        Assert.Equal(audit.Id, (await ca.Store.ListAuditAsync(1, CancellationToken.None))[0].Id);

        RevocationResult unknown = await ca.Authority.RevokeAsync("7F00FF", RevocationReasons.KeyCompromise, "operator:bob", CancellationToken.None);
        Assert.Equal(RevocationStatus.UnknownCertificate, unknown.Status);
        Assert.Null(unknown.Certificate);

        await Assert.ThrowsAsync<ArgumentException>(() => ca.Authority.RevokeAsync("not hex", 1, "operator:bob", CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => ca.Authority.RevokeAsync(serial, 1, " ", CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_revocations_of_one_certificate_revoke_it_once()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string serial = (await IssueAsync(ca, "CN=dev-1")).SerialNumber;
        RevocationResult[] results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            Task.Run(() => ca.Authority.RevokeAsync(serial, i % 2 == 0 ? RevocationReasons.KeyCompromise : RevocationReasons.Superseded, $"operator:{i}", CancellationToken.None))));
        Assert.Single(results, r => r.Status == RevocationStatus.Revoked);
        Assert.Equal(5, results.Count(r => r.Status == RevocationStatus.AlreadyRevoked));
        Assert.Single(await ca.Store.ListAuditAsync(100, CancellationToken.None), a => a.Action == "revoke");
        Assert.Single(await ca.Store.ListRevokedAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_revoked_certificate_holds_its_name_no_more()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string serial = (await IssueAsync(ca, "CN=dev-1", requester: "a")).SerialNumber;
        Assert.Equal(IssuanceStatus.Rejected, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-1"), requester: "b"), CancellationToken.None)).Status);
        await ca.Authority.RevokeAsync(serial, RevocationReasons.AffiliationChanged, "operator:test", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-1"), requester: "b"), CancellationToken.None)).Status);
    }

    [Fact]
    public async Task The_CRL_is_signed_by_the_issuing_CA_and_lists_serials_with_reasons_as_openssl_reads_it()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        X509Certificate2 compromised = await IssueAsync(ca, "CN=dev-1");
        X509Certificate2 retired = await IssueAsync(ca, "CN=dev-2");
        X509Certificate2 good = await IssueAsync(ca, "CN=dev-3");
        await ca.Authority.RevokeAsync(compromised.SerialNumber, RevocationReasons.KeyCompromise, "operator:test", CancellationToken.None);
        await ca.Authority.RevokeAsync(retired.SerialNumber, RevocationReasons.Unspecified, "operator:test", CancellationToken.None);

        CrlSnapshot crl = await ca.Authority.GetCrlAsync(CancellationToken.None);
        Assert.Equal(2, crl.Count);
        Assert.Equal(ca.Authority.CrlValidity, crl.NextUpdate - crl.ThisUpdate);
        Assert.Equal(TimeSpan.FromDays(7), ca.Authority.CrlValidity);
        string directory = ca.Directory.Path;
        await File.WriteAllTextAsync(Path.Combine(directory, "crl.pem"), PemEncoding.WriteString("X509 CRL", crl.Der.Span));
        await File.WriteAllTextAsync(Path.Combine(directory, "chain.pem"),
            ca.Hierarchy.TrustAnchor.ExportCertificatePem() + "\n" + ca.Hierarchy.IssuingCa.ExportCertificatePem() + "\n");
        await File.WriteAllTextAsync(Path.Combine(directory, "revoked.pem"), compromised.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(directory, "good.pem"), good.ExportCertificatePem());

        string text = await OpenSsl.RunAsync(directory, "crl", "-in", "crl.pem", "-CAfile", "chain.pem", "-noout", "-text");
        Assert.Contains("verify OK", text, StringComparison.Ordinal);
        Assert.Contains("Version 2", text, StringComparison.Ordinal);
        Assert.Contains($"X509v3 CRL Number: \n                {crl.CrlNumber}", text, StringComparison.Ordinal);
        Assert.Contains("X509v3 Authority Key Identifier", text, StringComparison.Ordinal);
        Assert.Contains($"Serial Number: {compromised.SerialNumber}\n", text, StringComparison.Ordinal);
        Assert.Contains($"Serial Number: {retired.SerialNumber}\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain(good.SerialNumber, text, StringComparison.Ordinal);
        Assert.Contains("Key Compromise", text, StringComparison.Ordinal);
        Assert.Equal(1, CountOf(text, "X509v3 CRL Reason Code"));

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            OpenSsl.RunAsync(directory, "verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "chain.pem", "revoked.pem"));
        Assert.Contains("certificate revoked", refused.Message, StringComparison.Ordinal);
        Assert.Contains("OK", await OpenSsl.RunAsync(directory, "verify", "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "chain.pem", "good.pem"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_CRL_is_kept_until_a_revocation_or_until_its_next_update_is_near()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var authority = new CertificateAuthority(ca.Hierarchy, ca.Store, CertificateProfileCatalog.FromOptions(ca.Options), new ReservedNames(ca.Hierarchy, []), null, time)
        {
            CrlValidity = TimeSpan.FromHours(8),
        };
        CrlSnapshot first = await authority.GetCrlAsync(CancellationToken.None);
        Assert.Equal(0, first.Count);
        Assert.Equal(TimeSpan.FromHours(8), first.NextUpdate - first.ThisUpdate);
        time.Now += TimeSpan.FromHours(5);
        Assert.Same(first, await authority.GetCrlAsync(CancellationToken.None));

        // Revoked by another CA object on the same store (as the operator's CLI next to the server): noticed.
        string serial = (await IssueAsync(ca, "CN=dev-1")).SerialNumber;
        await ca.Authority.RevokeAsync(serial, RevocationReasons.KeyCompromise, "operator:test", CancellationToken.None);
        CrlSnapshot second = await authority.GetCrlAsync(CancellationToken.None);
        Assert.Equal(1, second.Count);
        Assert.True(second.CrlNumber > first.CrlNumber);
        Assert.Same(second, await authority.GetCrlAsync(CancellationToken.None));

        time.Now += TimeSpan.FromHours(6.5);
        CrlSnapshot third = await authority.GetCrlAsync(CancellationToken.None);
        Assert.NotSame(second, third);
        Assert.True(third.CrlNumber > second.CrlNumber);
        Assert.Equal(1, third.Count);
    }

    [Fact]
    public async Task CRL_numbers_are_at_least_the_time_in_milliseconds_and_one_more_than_the_last_when_that_is_more()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        var time = new ManualTimeProvider(new DateTimeOffset(2027, 3, 4, 5, 6, 7, TimeSpan.Zero));
        var authority = new CertificateAuthority(ca.Hierarchy, ca.Store, CertificateProfileCatalog.FromOptions(ca.Options), new ReservedNames(ca.Hierarchy, []), null, time)
        {
            CrlValidity = TimeSpan.FromHours(8),
        };
        Assert.Equal(time.Now.ToUnixTimeMilliseconds(), (long)(await authority.GetCrlAsync(CancellationToken.None)).CrlNumber);

        // Numbers that ran ahead of the clock (a clock that was once ahead) go on one by one; a clock past them leads again.
        long ahead = await ca.Store.NextCrlNumberAsync(time.Now.AddDays(1).ToUnixTimeMilliseconds(), CancellationToken.None);
        time.Now += TimeSpan.FromHours(7);
        Assert.Equal(ahead + 1, (long)(await authority.GetCrlAsync(CancellationToken.None)).CrlNumber);
        time.Now += TimeSpan.FromDays(2);
        Assert.Equal(time.Now.ToUnixTimeMilliseconds(), (long)(await authority.GetCrlAsync(CancellationToken.None)).CrlNumber);
    }

    [Fact]
    public async Task Concurrent_CRL_requests_share_one_CRL()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        CrlSnapshot[] crls = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => ca.Authority.GetCrlAsync(CancellationToken.None))));
        Assert.All(crls, c => Assert.Same(crls[0], c));
        Assert.Equal((long)crls[0].CrlNumber + 1, await ca.Store.NextCrlNumberAsync(0, CancellationToken.None));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(367 * 24 * 60.0)]
    public async Task The_CRL_validity_is_bounded(double minutes)
    {
        await using TestCa ca = await TestCa.CreateAsync();
        Assert.Equal(TimeSpan.FromDays(7), new CaOptions().CrlValidity);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CertificateAuthority(ca.Hierarchy, ca.Store, CertificateProfileCatalog.FromOptions(ca.Options),
            new ReservedNames(ca.Hierarchy, [])) { CrlValidity = TimeSpan.FromMinutes(minutes) });
    }

    private static async Task<X509Certificate2> IssueAsync(TestCa ca, string subject, string requester = "test")
    {
        IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(subject), requester: requester), CancellationToken.None);
        Assert.True(result.Status == IssuanceStatus.Issued, $"{result.Reason}: {result.Detail}");
        return result.Certificate!;
    }

    private static int CountOf(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
