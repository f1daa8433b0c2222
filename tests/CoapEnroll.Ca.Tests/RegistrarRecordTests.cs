using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Testing;
using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// What the CA records of registrars (RFC 7030 §3.7): the registrar that submitted a request beside the device's identity, in the
/// store (schema version 4) and the audit log, and the registrar certificates an operator issues (id-kp-cmcRA, RFC 6402 §2.10).
/// </summary>
public sealed class RegistrarRecordTests
{
    private const string Registrar = "CN=edge-1 sha256:00AA";

    [Fact]
    public async Task An_issued_request_records_its_registrar_and_the_device_and_the_audit_says_via_registrar()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        IssuanceResult result = await ca.Authority.IssueAsync(RegistrarRequest(TestCa.Csr("CN=dev-7")), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, result.Status);

        StoredRequest stored = (await ca.Store.GetRequestAsync(result.RequestId!.Value, CancellationToken.None))!;
        Assert.Equal((Registrar, "device:7", Registrar), (stored.Requester, stored.Identity, stored.Registrar));
        StoredCertificate certificate = (await ca.Store.GetCertificateAsync(result.Certificate!.SerialNumber, CancellationToken.None))!;
        Assert.Equal("device:7", certificate.Identity);
        AuditEntry issue = (await ca.Store.ListAuditAsync(10, CancellationToken.None)).First(a => a.Action == "issue");
        Assert.EndsWith($"via est-coaps via registrar {Registrar}", issue.Details, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_and_a_pending_request_record_their_registrar_too_and_a_device_s_own_request_none()
    {
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new() { ["manual"] = new CertificateProfileOptions { RequiresApproval = true } });
        IssuanceResult pending = await ca.Authority.IssueAsync(RegistrarRequest(TestCa.Csr("CN=dev-8"), "manual"), CancellationToken.None);
        IssuanceResult refused = await ca.Authority.RecordRefusalAsync(RegistrarRequest(TestCa.Csr("CN=dev-9")), RejectionReason.NotAuthorized, "no", CancellationToken.None);
        IssuanceResult own = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-10")), CancellationToken.None);

        Assert.Equal(Registrar, (await ca.Store.GetRequestAsync(pending.RequestId!.Value, CancellationToken.None))!.Registrar);
        Assert.Equal(Registrar, (await ca.Store.GetRequestAsync(refused.RequestId!.Value, CancellationToken.None))!.Registrar);
        Assert.Null((await ca.Store.GetRequestAsync(own.RequestId!.Value, CancellationToken.None))!.Registrar);
        IReadOnlyList<AuditEntry> audit = await ca.Store.ListAuditAsync(10, CancellationToken.None);
        Assert.Contains(audit, a => a.Action == "pending" && a.Details.Contains($"via registrar {Registrar}", StringComparison.Ordinal));
        Assert.Contains(audit, a => a.Action == "rejected-request" && a.Details.EndsWith($"via registrar {Registrar}", StringComparison.Ordinal));

        // Approval keeps the registrar of the stored request in the issue entry.
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.ApproveAsync(pending.RequestId.Value, "operator:test", CancellationToken.None)).Status);
        AuditEntry approved = (await ca.Store.ListAuditAsync(10, CancellationToken.None)).First(a => a.Action == "issue");
        Assert.Contains($"via registrar {Registrar}", approved.Details, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_version_3_store_gets_the_registrar_column_with_its_requests_their_own()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        IssuanceResult before = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-1")), CancellationToken.None);
        await ca.Store.DisposeAsync();
        await using (var connection = new SqliteConnection($"Data Source={ca.Hierarchy.Layout.Database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "ALTER TABLE requests DROP COLUMN registrar; PRAGMA user_version = 3;";
            await command.ExecuteNonQueryAsync();
        }

        await ca.RestartAsync();
        Assert.Null((await ca.Store.GetRequestAsync(before.RequestId!.Value, CancellationToken.None))!.Registrar);
        IssuanceResult after = await ca.Authority.IssueAsync(RegistrarRequest(TestCa.Csr("CN=dev-2")), CancellationToken.None);
        Assert.Equal(Registrar, (await ca.Store.GetRequestAsync(after.RequestId!.Value, CancellationToken.None))!.Registrar);
        await using (var connection = new SqliteConnection($"Data Source={ca.Hierarchy.Layout.Database};Pooling=False"))
        {
            await connection.OpenAsync();
            await using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version;";
            Assert.Equal(4L, (long)(await command.ExecuteScalarAsync())!);
        }
    }

    [Fact]
    public async Task A_registrar_certificate_carries_cmcRA_and_clientAuth_is_stored_and_openssl_verifies_it()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        IssuanceResult result = await ca.Authority.IssueRegistrarCertificateAsync(TestCa.Csr("CN=edge-1, O=Example", key: key), "operator:test", 30, CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, result.Status);
        X509Certificate2 certificate = result.Certificate!;

        X509EnhancedKeyUsageExtension eku = certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.Equal(["1.3.6.1.5.5.7.3.28", "1.3.6.1.5.5.7.3.2"], eku.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value!));
        Assert.Equal(X509KeyUsageFlags.DigitalSignature, certificate.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.InRange((certificate.NotAfter - certificate.NotBefore).TotalDays, 30, 30.01);

        StoredCertificate stored = (await ca.Store.GetCertificateAsync(certificate.SerialNumber, CancellationToken.None))!;
        Assert.Equal((CertificateAuthority.RegistrarProfileName, "operator:test", CertificateStatus.Active), (stored.Profile, stored.Requester, stored.Status));
        Assert.StartsWith("registrar:", stored.Identity, StringComparison.Ordinal);

        string file = Path.Combine(ca.Directory.Path, "ra.pem");
        await File.WriteAllTextAsync(file, certificate.ExportCertificatePem());
        string text = await OpenSsl.RunAsync(ca.Directory.Path, "x509", "-in", file, "-noout", "-text");
        Assert.Contains("CMC Registration Authority", text, StringComparison.Ordinal);
        Assert.Contains("TLS Web Client Authentication", text, StringComparison.Ordinal);
        string verified = await OpenSsl.RunAsync(ca.Directory.Path, "verify", "-CAfile", ca.Hierarchy.Layout.TrustAnchor, "-untrusted", ca.Hierarchy.Layout.IssuingCertificate, file);
        Assert.Contains(": OK", verified, StringComparison.Ordinal);

        // A device cannot then obtain the registrar's name, nor can a second registrar certificate take a device's.
        IssuanceResult taken = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=edge-1, O=Example")), CancellationToken.None);
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, taken.Reason);
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-3")), CancellationToken.None)).Status);
        IssuanceResult clash = await ca.Authority.IssueRegistrarCertificateAsync(TestCa.Csr("CN=dev-3"), "operator:test", 30, CancellationToken.None);
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, clash.Reason);

        // The same registrar again (a new key, a new certificate) is the same identity.
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueRegistrarCertificateAsync(TestCa.Csr("CN=edge-1, O=Example"), "operator:test", 30, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_registrar_certificate_is_not_issued_for_a_reserved_name_or_a_bad_signature()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        IssuanceResult reserved = await ca.Authority.IssueRegistrarCertificateAsync(TestCa.Csr("CN=localhost"), "operator:test", 30, CancellationToken.None);
        Assert.Equal(RejectionReason.ReservedName, reserved.Reason);

        byte[] csr = TestCa.Csr("CN=edge-2");
        csr[^1] ^= 1;
        IssuanceResult forged = await ca.Authority.IssueRegistrarCertificateAsync(csr, "operator:test", 30, CancellationToken.None);
        Assert.Equal(IssuanceStatus.Rejected, forged.Status);
        Assert.Empty(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));
    }

    private static IssuanceRequest RegistrarRequest(byte[] csr, string? profile = null) => new()
    {
        CsrDer = csr,
        Requester = Registrar,
        Identity = "device:7",
        Registrar = Registrar,
        Protocol = "est-coaps",
        ProfileName = profile,
    };
}
