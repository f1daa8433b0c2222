using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Data.Sqlite;

namespace CoapEnroll.Ca.Tests;

/// <summary>
/// The name rules the CA keeps whoever asks: reserved names are never issued, a subject has one holder identity while an active,
/// unexpired certificate carries it (also when written concurrently, and after a version 1 store is migrated), and how names are
/// compared and shown.
/// </summary>
public sealed class NameRuleTests
{
    [Theory]
    [InlineData("CN=dev-1, O=Acme", "O=Acme, CN=dev-1")]
    [InlineData("CN=dev-1, O=Acme", "CN=DEV-1,O=acme")]
    [InlineData("CN=dev  1", "CN= Dev 1 ")]
    public void Names_that_differ_only_in_order_case_or_spacing_have_one_key(string a, string b) =>
        Assert.Equal(DistinguishedNames.Key(Name(a)), DistinguishedNames.Key(Name(b)));

    [Theory]
    [InlineData("CN=dev-1", "CN=dev-2")]
    [InlineData("CN=dev-1", "CN=dev-1, O=Acme")]
    [InlineData("CN=dev-1", "O=dev-1")]
    [InlineData("CN=dev-1, CN=dev-1", "CN=dev-1")]
    public void Different_names_have_different_keys(string a, string b) =>
        Assert.NotEqual(DistinguishedNames.Key(Name(a)), DistinguishedNames.Key(Name(b)));

    [Fact]
    public void The_attributes_of_a_name_are_read_whatever_string_type_carries_them()
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.Add("2.5.4.5", "DEMO-0001", System.Formats.Asn1.UniversalTagNumber.PrintableString);
        builder.Add("2.5.4.3", "demo", System.Formats.Asn1.UniversalTagNumber.BMPString);
        builder.Add("2.5.4.10", "Ac\u00e9me", System.Formats.Asn1.UniversalTagNumber.UTF8String);
        Assert.Equal([new("2.5.4.10", "Ac\u00e9me"), new("2.5.4.3", "demo"), new("2.5.4.5", "DEMO-0001")], DistinguishedNames.TryGetAttributes(builder.Build())!);
        Assert.Null(DistinguishedNames.TryGetAttributes(new X500DistinguishedName([0x30, 0x03, 0x02, 0x01, 0x00])));
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\0b", @"a\u{0000}b")]
    [InlineData("tab\there", @"tab\u{0009}here")]
    [InlineData("back\\slash", @"back\\slash")]
    [InlineData("rtl\u202Eevil", @"rtl\u{202E}evil")]
    [InlineData("caf\u00e9 d\u00e9j\u00e0", "caf\u00e9 d\u00e9j\u00e0")]
    public void Printable_text_escapes_what_cannot_be_seen(string text, string expected) => Assert.Equal(expected, PrintableText.Escape(text));

    [Fact]
    public void Printable_text_is_bounded() => Assert.Equal(new string('x', 5) + "...", PrintableText.Escape(new string('x', 50), 5));

    [Theory]
    [InlineData("DNS:gw.example", GeneralNameKind.Dns, "gw.example")]
    [InlineData("uri:urn:dev:1", GeneralNameKind.Uri, "urn:dev:1")]
    [InlineData("IP:127.0.0.1", GeneralNameKind.IPAddress, "127.0.0.1")]
    [InlineData("IP:0:0:0:0:0:0:0:1", GeneralNameKind.IPAddress, "::1")]
    public void General_names_read_from_text(string text, GeneralNameKind kind, string value)
    {
        Assert.True(GeneralName.TryParse(text, out GeneralName name, out _));
        Assert.Equal(new GeneralName(kind, value), name);
    }

    [Fact]
    public void General_names_compare_dns_without_case_and_the_rest_exactly()
    {
        Assert.True(new GeneralName(GeneralNameKind.Dns, "GW.example").Matches(new GeneralName(GeneralNameKind.Dns, "gw.EXAMPLE")));
        Assert.False(new GeneralName(GeneralNameKind.Uri, "urn:A").Matches(new GeneralName(GeneralNameKind.Uri, "urn:a")));
        Assert.False(new GeneralName(GeneralNameKind.Dns, "a").Matches(new GeneralName(GeneralNameKind.Uri, "a")));
    }

    [Theory]
    [InlineData("CN=Test Issuing CA", "reserved name: the subject is the issuing CA's name, which this CA never issues")]
    [InlineData("CN=test  ROOT ca", "reserved name: the subject is the root CA's name, which this CA never issues")]
    [InlineData("O=Test, CN=localhost", "reserved name: the subject is this server's name, which this CA never issues")]
    [InlineData("CN=Localhost.", "reserved name: CN 'Localhost.' is a name of this server's certificate, which this CA never issues")]
    public async Task The_CA_never_issues_a_reserved_name_whoever_asks(string subject, string expected)
    {
        await using TestCa ca = await TestCa.CreateAsync();
        IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(subject)), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Rejected, result.Status);
        Assert.Equal(RejectionReason.ReservedName, result.Reason);
        Assert.Equal(expected, result.Detail);
        StoredRequest stored = Assert.Single(await ca.Store.ListRequestsAsync(RequestStatus.Rejected, 10, CancellationToken.None));
        Assert.Equal(RejectionReason.ReservedName, stored.RejectionReason);
    }

    [Fact]
    public async Task The_CA_never_issues_the_server_s_subjectAltNames()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] csr = TestCa.Csr("CN=dev-1", r =>
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("dev-1.example");
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            r.CertificateExtensions.Add(san.Build());
        });
        IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(csr), CancellationToken.None);
        Assert.Equal(RejectionReason.ReservedName, result.Reason);
        Assert.Equal("reserved name: subjectAltName IP:127.0.0.1 is a name of this server's certificate, which this CA never issues", result.Detail);
    }

    [Fact]
    public async Task Without_host_certificates_only_the_CA_names_are_reserved()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        var reserved = new ReservedNames(ca.Hierarchy, []);
        Assert.NotNull(reserved.Find(Name("CN=Test Issuing CA"), []));
        Assert.Null(reserved.Find(Name("CN=localhost"), [new GeneralName(GeneralNameKind.Dns, "localhost")]));
        Assert.NotNull(ca.Authority.ReservedNames.Find(Name("CN=dev-1"), [new GeneralName(GeneralNameKind.IPAddress, "::1")]));

        // 127.0.0.1 written as an IPv4-mapped IPv6 address (16 octets in the certificate), as a subjectAltName and as a CN.
        Assert.NotNull(ca.Authority.ReservedNames.Find(Name("CN=dev-1"), [new GeneralName(GeneralNameKind.IPAddress, "::ffff:127.0.0.1")]));
        Assert.NotNull(ca.Authority.ReservedNames.Find(Name("CN=::ffff:127.0.0.1"), []));
        Assert.Null(ca.Authority.ReservedNames.Find(Name("CN=dev-1"), [new GeneralName(GeneralNameKind.IPAddress, "::ffff:127.0.0.2")]));
    }

    [Fact]
    public async Task A_pending_request_for_a_name_taken_meanwhile_is_rejected_on_approval()
    {
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new() { ["manual"] = new CertificateProfileOptions { RequiresApproval = true } });
        IssuanceResult pending = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-1"), "manual", requester: "first"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Pending, pending.Status);
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-1"), requester: "second"), CancellationToken.None)).Status);

        IssuanceResult approved = await ca.Authority.ApproveAsync(pending.RequestId!.Value, "operator", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Rejected, approved.Status);
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, approved.Reason);
        Assert.Single(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task The_identity_not_the_requester_holds_a_name()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(ForIdentity(TestCa.Csr("CN=dev-1"), "idevid", "device-1"),
            CancellationToken.None)).Status);
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(ForIdentity(TestCa.Csr("CN=dev-1"), "ldevid", "device-1"),
            CancellationToken.None)).Status);
        IssuanceResult other = await ca.Authority.IssueAsync(ForIdentity(TestCa.Csr("CN=dev-1"), "ldevid", "device-2"), CancellationToken.None);
        Assert.Equal(RejectionReason.NameHeldByAnotherRequester, other.Reason);
        Assert.Equal("name held by another requester: an active certificate of another requester has the subject CN=dev-1", other.Detail);
        Assert.All(await ca.Store.ListCertificatesAsync(10, CancellationToken.None), c => Assert.Equal("device-1", c.Identity));
        Assert.Equal("device-2", Assert.Single(await ca.Store.ListRequestsAsync(RequestStatus.Rejected, 10, CancellationToken.None)).Identity);
    }

    [Fact]
    public async Task The_store_writes_no_second_holder_of_a_name_even_when_the_check_before_was_passed()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        await ca.Authority.IssueAsync(ForIdentity(TestCa.Csr("CN=dev-1"), "test", "device-1"), CancellationToken.None);
        using X509Certificate2 second = Sign(ca, "cn=DEV-1", DateTimeOffset.UtcNow.AddDays(1));
        var ex = await Assert.ThrowsAsync<CertificateStoreConflictException>(() => ca.Store.AddIssuedAsync(
            new StoredRequest { CsrDer = [1], Requester = "r", Identity = "device-2", Protocol = "test", Profile = "default" },
            StoredCertificate.FromCertificate(second, "default", "r", null) with { Identity = "device-2" }, Audit(), CancellationToken.None));
        Assert.Equal(StoreConflict.SubjectHeld, ex.Conflict);
        Assert.Single(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));
        Assert.Single(await ca.Store.ListRequestsAsync(null, 10, CancellationToken.None));
    }

    [Fact]
    public async Task An_expired_or_revoked_certificate_holds_no_name()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        using X509Certificate2 expired = Sign(ca, "CN=old-1", DateTimeOffset.UtcNow.AddMinutes(-1));
        await ca.Store.AddIssuedAsync(new StoredRequest { CsrDer = [1], Requester = "gone", Protocol = "test", Profile = "default" },
            StoredCertificate.FromCertificate(expired, "default", "gone", null), Audit(), CancellationToken.None);
        Assert.Null(await ca.Store.FindNameHolderAsync(Name("CN=old-1"), "new", CancellationToken.None));
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=old-1"), requester: "new"), CancellationToken.None)).Status);

        IssuanceResult revoked = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=lost-1"), requester: "a"), CancellationToken.None);
        Assert.Equal(revoked.Certificate!.SerialNumber, (await ca.Store.FindNameHolderAsync(Name("cn=LOST-1"), "b", CancellationToken.None))?.SerialNumber);
        Assert.Null(await ca.Store.FindNameHolderAsync(Name("CN=lost-1"), "a", CancellationToken.None));
        await ca.Store.SetCertificateStatusAsync(revoked.Certificate!.SerialNumber, CertificateStatus.Revoked, Audit(), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=lost-1"), requester: "b"), CancellationToken.None)).Status);
    }

    [Fact]
    public async Task A_version_1_store_gets_identities_that_follow_a_device_back_to_its_first_certificate()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string path = Path.Combine(ca.Directory.Path, "v1.db");
        using X509Certificate2 first = Sign(ca, "CN=dev-1", DateTimeOffset.UtcNow.AddDays(30));
        using X509Certificate2 renewed = Sign(ca, "CN=dev-1", DateTimeOffset.UtcNow.AddDays(30));
        string idevid = "SERIALNUMBER=DEMO-0001, CN=dev-1 sha256:" + new string('A', 64);
        string byFirst = $"CN=dev-1 sha256:{first.GetCertHashString(HashAlgorithmName.SHA256)}";
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync();
            await using SqliteCommand command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, request_key TEXT UNIQUE, csr BLOB NOT NULL, override_public_key BLOB,
                    requester TEXT NOT NULL, protocol TEXT NOT NULL, profile TEXT NOT NULL, status TEXT NOT NULL, reason_code TEXT, reason TEXT,
                    replaces_serial TEXT, issued_serial TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
                CREATE TABLE certificates (serial TEXT PRIMARY KEY, request_id INTEGER NOT NULL REFERENCES requests (id), subject TEXT NOT NULL,
                    issuer TEXT NOT NULL, not_before TEXT NOT NULL, not_after TEXT NOT NULL, der BLOB NOT NULL, public_key_sha256 TEXT NOT NULL,
                    profile TEXT NOT NULL, requester TEXT NOT NULL, status TEXT NOT NULL, replaces_serial TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
                CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, details TEXT NOT NULL);
                INSERT INTO requests VALUES (1, NULL, x'01', NULL, $idevid, 'est-coaps', 'default', 'issued', NULL, NULL, NULL, $s1, '2025-01-01T00:00:00.0000000Z', '2025-01-01T00:00:00.0000000Z');
                INSERT INTO requests VALUES (2, NULL, x'02', NULL, $byFirst, 'est-coaps', 'default', 'issued', NULL, NULL, $s1, $s2, '2025-01-02T00:00:00.0000000Z', '2025-01-02T00:00:00.0000000Z');
                INSERT INTO certificates VALUES ($s1, 1, 'CN=dev-1', 'x', '2025-01-01T00:00:00.0000000Z', '2999-01-01T00:00:00.0000000Z', $d1, 'k1', 'default', $idevid, 'superseded', NULL, '2025-01-01T00:00:00.0000000Z', '2025-01-01T00:00:00.0000000Z');
                INSERT INTO certificates VALUES ($s2, 2, 'CN=dev-1', 'x', '2025-01-02T00:00:00.0000000Z', '2999-01-01T00:00:00.0000000Z', $d2, 'k2', 'default', $byFirst, 'active', $s1, '2025-01-02T00:00:00.0000000Z', '2025-01-02T00:00:00.0000000Z');
                PRAGMA user_version = 1;
                """;
            command.Parameters.AddWithValue("$idevid", idevid);
            command.Parameters.AddWithValue("$byFirst", byFirst);
            command.Parameters.AddWithValue("$s1", first.SerialNumber);
            command.Parameters.AddWithValue("$s2", renewed.SerialNumber);
            command.Parameters.AddWithValue("$d1", first.RawData);
            command.Parameters.AddWithValue("$d2", renewed.RawData);
            await command.ExecuteNonQueryAsync();
        }

        await using SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(path, null, CancellationToken.None);
        Assert.All(await store.ListCertificatesAsync(10, CancellationToken.None), c => Assert.Equal(idevid, c.Identity));
        Assert.All(await store.ListRequestsAsync(null, 10, CancellationToken.None), r => Assert.Equal(idevid, r.Identity));
        Assert.Equal(renewed.SerialNumber, (await store.FindNameHolderAsync(Name("CN=dev-1"), "someone else", CancellationToken.None))?.SerialNumber);
        Assert.Null(await store.FindNameHolderAsync(Name("CN=dev-1"), idevid, CancellationToken.None));

        using X509Certificate2 intruder = Sign(ca, "CN=dev-1", DateTimeOffset.UtcNow.AddDays(1));
        var ex = await Assert.ThrowsAsync<CertificateStoreConflictException>(() => store.AddIssuedAsync(
            new StoredRequest { CsrDer = [3], Requester = "other", Protocol = "test", Profile = "default" },
            StoredCertificate.FromCertificate(intruder, "default", "other", null), Audit(), CancellationToken.None));
        Assert.Equal(StoreConflict.SubjectHeld, ex.Conflict);
    }

    [Theory]
    [InlineData("CN=dev-1, O=Acme")]
    [InlineData("SERIALNUMBER=DEMO-0001, CN=demo")]
    [InlineData("CN=Dev  1, OU=b, C=DE")]
    [InlineData("")]
    public void The_subject_key_read_from_a_certificate_s_encoding_is_the_key_of_its_subject(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X500DistinguishedName name = subject.Length == 0 ? new X500DistinguishedName([0x30, 0x00]) : Name(subject);
        using X509Certificate2 v3 = new CertificateRequest(name, key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        Assert.Equal(DistinguishedNames.Key(name), DistinguishedNames.SubjectKeyOfCertificate(WithoutVersion(v3.RawData)));
        Assert.Equal(DistinguishedNames.Key(name), DistinguishedNames.SubjectKeyOfCertificate(v3.RawData));
        byte[] issued = Reissued(v3, key);
        Assert.Equal(DistinguishedNames.Key(name), DistinguishedNames.SubjectKeyOfCertificate(issued));
        Assert.NotEqual(DistinguishedNames.Key(Name("CN=some issuer")), DistinguishedNames.SubjectKeyOfCertificate(issued));
        Assert.Null(DistinguishedNames.SubjectKeyOfCertificate(v3.RawData.AsMemory(0, v3.RawData.Length / 2)));
        Assert.Null(DistinguishedNames.SubjectKeyOfCertificate(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x00 }));
    }

    [Fact]
    public async Task The_holder_of_a_name_is_found_on_either_side_of_the_asking_identity_among_many_certificates_of_that_name()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        // device-m re-enrolled many times and keeps every certificate active; device-b and device-y hold only expired ones.
        await AddAsync(ca, "CN=dev-1", "device-b", DateTimeOffset.UtcNow.AddMinutes(-1));
        await AddAsync(ca, "CN=dev-1", "device-y", DateTimeOffset.UtcNow.AddMinutes(-1));
        await AddAsync(ca, "CN=dev-2", "device-a", DateTimeOffset.UtcNow.AddDays(1));
        string newest = "";
        for (int i = 0; i < 120; i++)
        {
            newest = await AddAsync(ca, i % 2 == 0 ? "CN=dev-1" : "cn=DEV-1", "device-m", DateTimeOffset.UtcNow.AddDays(1));
        }

        Assert.Null(await ca.Store.FindNameHolderAsync(Name("CN=dev-1"), "device-m", CancellationToken.None));
        Assert.Equal(newest, (await ca.Store.FindNameHolderAsync(Name("CN=dev-1"), "device-a", CancellationToken.None))?.SerialNumber);
        Assert.Equal(newest, (await ca.Store.FindNameHolderAsync(Name("CN=dev-1"), "device-z", CancellationToken.None))?.SerialNumber);
        Assert.Equal(newest, (await ca.Store.FindNameHolderAsync(Name("CN=dev-1"), "", CancellationToken.None))?.SerialNumber);
        Assert.Null(await ca.Store.FindNameHolderAsync(Name("CN=dev-3"), "device-a", CancellationToken.None));

        // The same rule inside the issuing transaction, from both sides.
        await AddAsync(ca, "CN=dev-1", "device-m", DateTimeOffset.UtcNow.AddDays(1));
        foreach (string other in new[] { "device-a", "device-z" })
        {
            var ex = await Assert.ThrowsAsync<CertificateStoreConflictException>(() => AddAsync(ca, "CN=dev-1", other, DateTimeOffset.UtcNow.AddDays(1)));
            Assert.Equal(StoreConflict.SubjectHeld, ex.Conflict);
        }

        // Once device-m's certificates are revoked, the name is free for anyone, and device-m is now the one kept out.
        foreach (StoredCertificate certificate in await ca.Store.FindCertificatesBySubjectAsync("CN=dev-1", 1000, CancellationToken.None))
        {
            await ca.Store.SetCertificateStatusAsync(certificate.SerialNumber, CertificateStatus.Revoked, Audit(), CancellationToken.None);
        }

        foreach (StoredCertificate certificate in await ca.Store.FindCertificatesBySubjectAsync("CN=DEV-1", 1000, CancellationToken.None))
        {
            await ca.Store.SetCertificateStatusAsync(certificate.SerialNumber, CertificateStatus.Revoked, Audit(), CancellationToken.None);
        }

        Assert.Null(await ca.Store.FindNameHolderAsync(Name("CN=dev-1"), "device-z", CancellationToken.None));
        string taken = await AddAsync(ca, "CN=dev-1", "device-z", DateTimeOffset.UtcNow.AddDays(1));
        Assert.Equal(taken, (await ca.Store.FindNameHolderAsync(Name("CN=dev-1"), "device-m", CancellationToken.None))?.SerialNumber);
    }

    [Fact]
    public async Task A_store_with_the_index_of_an_older_version_gets_the_holder_index_and_keeps_its_rule()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string path = ca.Hierarchy.Layout.Database;
        string held = await AddAsync(ca, "CN=dev-1", "device-1", DateTimeOffset.UtcNow.AddDays(1));
        await ca.Store.DisposeAsync();
        // What a store written before certificates_holder looks like: the (subject_key, status) index instead.
        await ExecuteRawAsync(path, "DROP INDEX certificates_holder; CREATE INDEX certificates_subject_key ON certificates (subject_key, status);");
        Assert.Equal(["certificates_public_key", "certificates_requester", "certificates_subject", "certificates_subject_key"], await IndexesAsync(path));

        await ca.RestartAsync();
        Assert.Equal(["certificates_holder", "certificates_public_key", "certificates_requester", "certificates_subject"], await IndexesAsync(path));
        Assert.Equal(held, (await ca.Store.FindNameHolderAsync(Name("CN=dev-1"), "device-2", CancellationToken.None))?.SerialNumber);
        Assert.Null(await ca.Store.FindNameHolderAsync(Name("CN=dev-1"), "device-1", CancellationToken.None));
        var ex = await Assert.ThrowsAsync<CertificateStoreConflictException>(() => AddAsync(ca, "CN=dev-1", "device-2", DateTimeOffset.UtcNow.AddDays(1)));
        Assert.Equal(StoreConflict.SubjectHeld, ex.Conflict);
        await AddAsync(ca, "CN=dev-1", "device-1", DateTimeOffset.UtcNow.AddDays(1));

        // Opening it again changes nothing.
        await ca.RestartAsync();
        Assert.Equal(["certificates_holder", "certificates_public_key", "certificates_requester", "certificates_subject"], await IndexesAsync(path));
    }

    // The certificate with the [0] version field left out of its tbsCertificate, as a v1 certificate has it (its signature no longer
    // matches, which the subject key does not look at).
    private static byte[] WithoutVersion(byte[] certificate)
    {
        var reader = new System.Formats.Asn1.AsnReader(certificate, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
        System.Formats.Asn1.AsnReader tbs = reader.ReadSequence();
        Assert.Equal(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 0, true), tbs.PeekTag());
        tbs.ReadEncodedValue();
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence())
            {
                while (tbs.HasData)
                {
                    writer.WriteEncodedValue(tbs.ReadEncodedValue().Span);
                }
            }

            while (reader.HasData)
            {
                writer.WriteEncodedValue(reader.ReadEncodedValue().Span);
            }
        }

        return writer.Encode();
    }

    // The same certificate issued by another name, so that issuer and subject differ.
    private static byte[] Reissued(X509Certificate2 certificate, ECDsa key)
    {
        using X509Certificate2 issuer = new CertificateRequest("CN=some issuer", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        using X509Certificate2 issued = new CertificateRequest(certificate.SubjectName, key, HashAlgorithmName.SHA256)
            .Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(key), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3]);
        return issued.RawData;
    }

    private static async Task<string> AddAsync(TestCa ca, string subject, string identity, DateTimeOffset notAfter)
    {
        using X509Certificate2 certificate = Sign(ca, subject, notAfter);
        await ca.Store.AddIssuedAsync(new StoredRequest { CsrDer = [1], Requester = "r", Identity = identity, Protocol = "test", Profile = "default" },
            StoredCertificate.FromCertificate(certificate, "default", "r", null) with { Identity = identity }, Audit(), CancellationToken.None);
        return certificate.SerialNumber;
    }

    private static async Task ExecuteRawAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> IndexesAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
        await connection.OpenAsync();
        await using SqliteCommand command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'certificates' AND sql IS NOT NULL ORDER BY name;";
        await using SqliteDataReader reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    private static X500DistinguishedName Name(string text) => DistinguishedNameParser.TryParse(text, out string? error) ?? throw new ArgumentException(error);

    private static IssuanceRequest ForIdentity(byte[] csr, string requester, string identity) =>
        new() { CsrDer = csr, Requester = requester, Identity = identity, Protocol = "est-coaps" };

    private static AuditEntry Audit() => new() { Timestamp = DateTimeOffset.UtcNow, Actor = "test", Action = "test", Details = "" };

    // An end-entity certificate of the issuing CA for subject, written by no CA rule.
    private static X509Certificate2 Sign(TestCa ca, string subject, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        DateTimeOffset issuerNotBefore = new(ca.Hierarchy.IssuingCa.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        return new CertificateRequest(Name(subject), key, HashAlgorithmName.SHA256)
            .Create(ca.Hierarchy.IssuingCa, issuerNotBefore, notAfter, RandomNumberGenerator.GetBytes(9));
    }
}
