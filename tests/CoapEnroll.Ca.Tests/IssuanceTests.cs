using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca.Tests;

public sealed class IssuanceTests
{
    [Fact]
    public async Task An_openssl_CSR_is_issued_for_its_own_key_stored_first_and_verifies_with_openssl()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        string dir = ca.Directory.Path;
        await OpenSsl.RunAsync(dir, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "dev.key",
            "-subj", "/CN=dev-1", "-outform", "DER", "-out", "dev.csr");
        byte[] csr = await File.ReadAllBytesAsync(ca.Directory.File("dev.csr"));

        IssuanceResult result = await ca.Authority.IssueAsync(TestCa.Request(csr), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, result.Status);
        X509Certificate2 issued = result.Certificate!;
        Assert.Equal("CN=dev-1", issued.Subject);
        Assert.Equal(ca.Hierarchy.IssuingCa.Subject, issued.Issuer);
        CertificateRequest parsed = CertificateRequest.LoadSigningRequest(csr, HashAlgorithmName.SHA256);
        Assert.Equal(parsed.PublicKey.ExportSubjectPublicKeyInfo(), issued.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(ca.Hierarchy.IssuingCa.Thumbprint, Assert.Single(result.Chain).Thumbprint);

        StoredCertificate? stored = await ca.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(issued.RawData, stored.Der);
        Assert.Equal(CertificateStatus.Active, stored.Status);
        Assert.Equal("default", stored.Profile);
        Assert.Equal("test", stored.Requester);
        Assert.Equal(stored.SerialNumber, (await ca.Store.FindCertificatesBySubjectAsync("CN=dev-1", 10, CancellationToken.None)).Single().SerialNumber);
        Assert.Equal(stored.SerialNumber, (await ca.Store.FindCertificatesByRequesterAsync("test", 10, CancellationToken.None)).Single().SerialNumber);
        Assert.Contains(await ca.Store.ListAuditAsync(10, CancellationToken.None), a => a.Action == "issue" && a.Details.Contains(stored.SerialNumber));

        // Validity: default 365 days, notBefore backdated about five minutes.
        DateTime now = DateTime.UtcNow;
        Assert.InRange(now - issued.NotBefore.ToUniversalTime(), TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(6));
        Assert.InRange(issued.NotAfter.ToUniversalTime() - now, TimeSpan.FromDays(364.9), TimeSpan.FromDays(365.1));

        await File.WriteAllTextAsync(ca.Directory.File("dev.pem"), issued.ExportCertificatePem());
        Assert.Contains("dev.pem: OK", await OpenSsl.RunAsync(dir, "verify", "-CAfile", "trust-anchor.pem", "-untrusted", "ca/issuing.pem", "-purpose", "sslclient", "dev.pem"));
        string text = await OpenSsl.RunAsync(dir, "x509", "-in", "dev.pem", "-noout", "-text");
        Assert.Contains("TLS Web Client Authentication", text);
        Assert.Contains("Digital Signature", text);
        Assert.Contains("CA:FALSE", text);
        Assert.Contains("ecdsa-with-SHA256", text);
        Assert.Contains("X509v3 Authority Key Identifier", text);
        Assert.Contains("X509v3 Subject Key Identifier", text);
        // The issued certificate matches the openssl-generated private key.
        string certKey = await OpenSsl.RunAsync(dir, "x509", "-in", "dev.pem", "-noout", "-pubkey");
        string ownKey = await OpenSsl.RunAsync(dir, "pkey", "-in", "dev.key", "-pubout");
        Assert.Equal(ownKey, certKey);
    }

    [Fact]
    public async Task Tampered_truncated_and_trailing_data_CSRs_are_rejected_with_specific_reasons()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] csr = TestCa.Csr();

        byte[] tampered = (byte[])csr.Clone();
        tampered[^1] ^= 0x01; // last octet of the ECDSA signature
        Assert.Equal(RejectionReason.BadSignature, (await ca.Authority.IssueAsync(TestCa.Request(tampered), CancellationToken.None)).Reason);

        byte[] subjectChanged = (byte[])csr.Clone();
        int at = subjectChanged.AsSpan().IndexOf("dev-1"u8);
        subjectChanged[at] = (byte)'x';
        Assert.Equal(RejectionReason.BadSignature, (await ca.Authority.IssueAsync(TestCa.Request(subjectChanged), CancellationToken.None)).Reason);

        Assert.Equal(RejectionReason.MalformedRequest, (await ca.Authority.IssueAsync(TestCa.Request(csr[..^10]), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.MalformedRequest, (await ca.Authority.IssueAsync(TestCa.Request([.. csr, 0]), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.MalformedRequest, (await ca.Authority.IssueAsync(TestCa.Request(new byte[10]), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.MalformedRequest, (await ca.Authority.IssueAsync(TestCa.Request(new byte[IssuanceRequest.MaxCsrLength + 1]), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.MalformedRequest, (await ca.Authority.IssueAsync(TestCa.Request(RandomNumberGenerator.GetBytes(300)), CancellationToken.None)).Reason);

        Assert.Empty(await ca.Store.ListCertificatesAsync(100, CancellationToken.None));
        Assert.Contains(await ca.Store.ListAuditAsync(100, CancellationToken.None), a => a.Action == "rejected-request" && a.Details.Contains(": BadSignature: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Key_types_are_checked_against_the_profile()
    {
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new()
        {
            ["p256only"] = new CertificateProfileOptions { AcceptedKeyTypes = ["P-256"] },
            ["rsa3072"] = new CertificateProfileOptions { AcceptedKeyTypes = ["RSA"], MinimumRsaKeySize = 3072 },
        });
        byte[] p384 = TestCa.Csr(key: ECDsa.Create(ECCurve.NamedCurves.nistP384));
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(p384), CancellationToken.None)).Status);
        Assert.Equal(RejectionReason.UnsupportedKeyType, (await ca.Authority.IssueAsync(TestCa.Request(p384, "p256only"), CancellationToken.None)).Reason);

        byte[] p521 = TestCa.Csr(key: ECDsa.Create(ECCurve.NamedCurves.nistP521));
        Assert.Equal(RejectionReason.UnsupportedKeyType, (await ca.Authority.IssueAsync(TestCa.Request(p521), CancellationToken.None)).Reason);

        byte[] rsa2048 = TestCa.Csr(key: RSA.Create(2048));
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(rsa2048), CancellationToken.None)).Status);
        Assert.Equal(RejectionReason.UnsupportedKeyType, (await ca.Authority.IssueAsync(TestCa.Request(rsa2048, "p256only"), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.KeyTooWeak, (await ca.Authority.IssueAsync(TestCa.Request(rsa2048, "rsa3072"), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.UnsupportedKeyType, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(), "rsa3072"), CancellationToken.None)).Reason);

        byte[] rsa1024 = TestCa.Csr(key: RSA.Create(1024));
        Assert.Equal(RejectionReason.KeyTooWeak, (await ca.Authority.IssueAsync(TestCa.Request(rsa1024), CancellationToken.None)).Reason);

        // A CSR for the CA's own key is refused.
        byte[] caKey = TestCa.Csr(key: ca.Hierarchy.IssuingCa.GetECDsaPrivateKey());
        Assert.Equal(RejectionReason.KeyNotAllowed, (await ca.Authority.IssueAsync(TestCa.Request(caKey), CancellationToken.None)).Reason);
    }

    [Fact]
    public async Task A_key_the_proof_of_possession_imported_is_still_checked_against_the_profile_and_the_CA_keys()
    {
        // A front end checks the proof first (EST, CMP), which imports the requested EC key; the CA's key check then reuses that
        // import for the same key object instead of importing it again, and must still refuse what it refused before.
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new()
        {
            ["p256only"] = new CertificateProfileOptions { AcceptedKeyTypes = ["P-256"] },
        });

        CertificationRequest p384 = Checked(TestCa.Csr(key: ECDsa.Create(ECCurve.NamedCurves.nistP384)), KeyTypes.EcP384);
        IssuanceResult refused = await ca.Authority.IssueAsync(Decoded(p384, "p256only"), CancellationToken.None);
        Assert.Equal(RejectionReason.UnsupportedKeyType, refused.Reason);
        Assert.Equal("CSR key: EcP384 is not accepted by profile 'p256only'", refused.Detail);

        CertificationRequest caKey = Checked(TestCa.Csr(key: ca.Hierarchy.IssuingCa.GetECDsaPrivateKey()), KeyTypes.EcP256);
        Assert.Equal(RejectionReason.KeyNotAllowed, (await ca.Authority.IssueAsync(Decoded(caKey, null), CancellationToken.None)).Reason);

        CertificationRequest p256 = Checked(TestCa.Csr(), KeyTypes.EcP256);
        IssuanceResult issued = await ca.Authority.IssueAsync(Decoded(p256, "p256only"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, issued.Status);
        Assert.True(issued.Certificate!.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(p256.PublicKey!.ExportSubjectPublicKeyInfo()));

        // Nothing is remembered before the proof is checked, nor for another object holding the same key.
        Assert.Equal(CertificationRequestDecodeStatus.Decoded, CertificationRequest.DecodePkcs10(TestCa.Csr(), out CertificationRequest? notChecked, out _));
        Assert.Null(notChecked!.ProofOfPossession!.ImportedEcKeyFor(notChecked.PublicKey!));
        Assert.Null(p256.ProofOfPossession!.ImportedEcKeyFor(new PublicKey(
            p256.PublicKey!.Oid, p256.PublicKey.EncodedParameters, p256.PublicKey.EncodedKeyValue)));

        static CertificationRequest Checked(byte[] der, KeyTypes type)
        {
            Assert.Equal(CertificationRequestDecodeStatus.Decoded, CertificationRequest.DecodePkcs10(der, out CertificationRequest? request, out _));
            Assert.True(request!.ProofOfPossession!.Verify());
            ImportedEcKey? imported = request.ProofOfPossession.ImportedEcKeyFor(request.PublicKey!);
            Assert.Equal(type, imported?.Type);
            Assert.False(imported!.Compressed);
            return request;
        }

        static IssuanceRequest Decoded(CertificationRequest request, string? profile) => new()
        {
            CsrDer = request.Encoded,
            Request = request,
            Requester = "test",
            Protocol = "est-coaps",
            ProfileName = profile,
        };
    }

    [Fact]
    public async Task Subject_allow_list_and_bounds_are_enforced()
    {
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new()
        {
            ["strict"] = new CertificateProfileOptions { SubjectPolicy = SubjectPolicy.AllowList, AllowedSubjectAttributes = ["CN", "serialNumber"] },
        });
        IssuanceResult ok = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-1, SERIALNUMBER=A123"), "strict"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, ok.Status);
        Assert.Contains("SERIALNUMBER=A123", ok.Certificate!.Subject);

        IssuanceResult withO = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-1, O=Evil"), "strict"), CancellationToken.None);
        Assert.Equal(RejectionReason.SubjectNotAllowed, withO.Reason);
        Assert.Contains("2.5.4.10", withO.Detail);

        // The default profile copies any subject, subject to RFC 5280 upper bounds.
        IssuanceResult copied = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=dev-1, O=Acme, C=DE")), CancellationToken.None);
        Assert.Equal("CN=dev-1, O=Acme, C=DE", copied.Certificate!.Subject);
        Assert.Equal(RejectionReason.SubjectNotAllowed, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=" + new string('a', 65))), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.SubjectNotAllowed, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("")), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.SubjectNotAllowed, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(MultiValuedRdn())), CancellationToken.None)).Reason);
        string many = string.Join(", ", Enumerable.Range(0, 17).Select(i => $"OU=u{i}"));
        Assert.Equal(RejectionReason.SubjectNotAllowed, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=x, " + many)), CancellationToken.None)).Reason);
    }

    private static X500DistinguishedName MultiValuedRdn()
    {
        // Name ::= SEQUENCE OF SET OF AttributeTypeAndValue; one SET with two attributes is a multi-valued RDN (RFC 5280 section 4.1.2.4).
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        using (writer.PushSetOf())
        {
            foreach ((string oid, string value) in new[] { ("2.5.4.3", "a"), ("2.5.4.10", "b") })
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(oid);
                    writer.WriteCharacterString(System.Formats.Asn1.UniversalTagNumber.UTF8String, value);
                }
            }
        }

        return new X500DistinguishedName(writer.Encode());
    }

    [Fact]
    public async Task SANs_are_copied_or_rejected_by_profile_and_only_dns_ip_uri_pass()
    {
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new()
        {
            ["nosan"] = new CertificateProfileOptions { SubjectAltNames = SubjectAltNamePolicy.Reject },
        });
        byte[] withSans = TestCa.Csr(configure: r =>
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("dev-1.example");
            san.AddIpAddress(IPAddress.Parse("192.0.2.7"));
            san.AddIpAddress(IPAddress.Parse("2001:db8::7"));
            san.AddUri(new Uri("urn:dev:ops:32473-Acme-1"));
            r.CertificateExtensions.Add(san.Build());
            // Requested extensions other than SAN are ignored, never copied.
            r.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        });
        IssuanceResult issued = await ca.Authority.IssueAsync(TestCa.Request(withSans), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, issued.Status);
        Assert.False(issued.Certificate!.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        await File.WriteAllTextAsync(ca.Directory.File("san.pem"), issued.Certificate.ExportCertificatePem());
        string text = await OpenSsl.RunAsync(ca.Directory.Path, "x509", "-in", "san.pem", "-noout", "-ext", "subjectAltName");
        Assert.Contains("DNS:dev-1.example", text);
        Assert.Contains("IP Address:192.0.2.7", text);
        Assert.Contains("IP Address:2001:DB8:0:0:0:0:0:7", text);
        Assert.Contains("URI:urn:dev:ops:32473-Acme-1", text);

        Assert.Equal(RejectionReason.SubjectAltNameNotAllowed, (await ca.Authority.IssueAsync(TestCa.Request(withSans, "nosan"), CancellationToken.None)).Reason);
        Assert.Equal(IssuanceStatus.Issued, (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(), "nosan"), CancellationToken.None)).Status);

        byte[] email = TestCa.Csr(configure: r =>
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddEmailAddress("a@example.com");
            r.CertificateExtensions.Add(san.Build());
        });
        Assert.Equal(RejectionReason.SubjectAltNameNotAllowed, (await ca.Authority.IssueAsync(TestCa.Request(email), CancellationToken.None)).Reason);

        byte[] wildcard = TestCa.Csr(configure: r =>
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("*.example.com");
            r.CertificateExtensions.Add(san.Build());
        });
        Assert.Equal(RejectionReason.SubjectAltNameNotAllowed, (await ca.Authority.IssueAsync(TestCa.Request(wildcard), CancellationToken.None)).Reason);
    }

    [Fact]
    public async Task Serial_numbers_are_positive_sixteen_octets_and_unique()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        var serials = new HashSet<string>();
        for (int i = 0; i < 20; i++)
        {
            X509Certificate2 certificate = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr()), CancellationToken.None)).Certificate!;
            byte[] serial = certificate.GetSerialNumber(); // little-endian
            Assert.Equal(16, serial.Length);
            Assert.True(serial[^1] is > 0 and < 0x80, "the most significant octet is non-zero and the sign bit is clear");
            Assert.True(serials.Add(certificate.SerialNumber));
        }

        for (int i = 0; i < 10_000; i++)
        {
            byte[] raw = CertificateFactory.NewSerialNumber();
            Assert.True(raw[0] is > 0 and < 0x80);
        }
    }

    [Fact]
    public async Task The_store_refuses_a_duplicate_serial_number()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        X509Certificate2 certificate = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr()), CancellationToken.None)).Certificate!;
        // The same requester as the first: from another, the write would be refused for the name it holds (StoreConflict.SubjectHeld).
        StoredCertificate again = StoredCertificate.FromCertificate(certificate, "default", "test", null);
        var request = new StoredRequest { CsrDer = [1], Requester = "test", Protocol = "cli", Profile = "default" };
        var ex = await Assert.ThrowsAsync<CertificateStoreConflictException>(() =>
            ca.Store.AddIssuedAsync(request, again, new AuditEntry { Actor = "x", Action = "issue", Details = "" }, CancellationToken.None));
        Assert.Equal(StoreConflict.SerialNumber, ex.Conflict);
        Assert.Single(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task A_repeated_request_key_returns_the_same_certificate_and_a_reused_key_with_another_CSR_is_refused()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] csr = TestCa.Csr();
        string key = IssuanceRequest.ComputeRequestKey(csr, "dev");
        IssuanceResult first = await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "dev"), CancellationToken.None);
        IssuanceResult second = await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "dev"), CancellationToken.None);
        Assert.False(first.Repeated);
        Assert.True(second.Repeated);
        Assert.Equal(first.Certificate!.SerialNumber, second.Certificate!.SerialNumber);
        Assert.Equal(first.RequestId, second.RequestId);
        Assert.Single(await ca.Store.ListCertificatesAsync(10, CancellationToken.None));

        IssuanceResult otherCsr = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr(), requestKey: key, requester: "dev"), CancellationToken.None);
        Assert.Equal(RejectionReason.RequestKeyConflict, otherCsr.Reason);
        IssuanceResult otherRequester = await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: key, requester: "intruder"), CancellationToken.None);
        Assert.Equal(RejectionReason.RequestKeyConflict, otherRequester.Reason);
        Assert.Null(otherRequester.Certificate);

        Assert.NotEqual(key, IssuanceRequest.ComputeRequestKey(csr, "dev2"));
        Assert.Equal(64, key.Length);
    }

    [Fact]
    public async Task Fifty_parallel_issuances_are_all_stored_with_unique_serials()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] sharedCsr = TestCa.Csr("CN=shared");
        string sharedKey = IssuanceRequest.ComputeRequestKey(sharedCsr, "dev");
        Task<IssuanceResult>[] tasks = Enumerable.Range(0, 50)
            .Select(i => Task.Run(() => ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr($"CN=dev-{i}")), CancellationToken.None)))
            .ToArray();
        // Concurrent retransmissions of one request: exactly one certificate.
        Task<IssuanceResult>[] repeats = Enumerable.Range(0, 10)
            .Select(_ => Task.Run(() => ca.Authority.IssueAsync(TestCa.Request(sharedCsr, requestKey: sharedKey, requester: "dev"), CancellationToken.None)))
            .ToArray();
        IssuanceResult[] results = await Task.WhenAll(tasks);
        IssuanceResult[] repeated = await Task.WhenAll(repeats);

        Assert.All(results, r => Assert.Equal(IssuanceStatus.Issued, r.Status));
        Assert.Equal(50, results.Select(r => r.Certificate!.SerialNumber).Distinct().Count());
        Assert.Single(repeated.Select(r => r.Certificate!.SerialNumber).Distinct());
        IReadOnlyList<StoredCertificate> stored = await ca.Store.ListCertificatesAsync(1000, CancellationToken.None);
        Assert.Equal(51, stored.Count);
        Assert.Equal(51, stored.Select(s => s.SerialNumber).Distinct().Count());
    }

    [Fact]
    public async Task Two_stores_on_one_database_write_concurrently_like_server_and_CLI_processes()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        await using SqliteCertificateStore second = await SqliteCertificateStore.OpenAsync(ca.Hierarchy.Layout.Database, null, CancellationToken.None);
        var other = new CertificateAuthority(ca.Hierarchy, second, ca.Authority.Profiles, ca.Authority.ReservedNames);
        IssuanceResult[] results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => (i % 2 == 0 ? ca.Authority : other).IssueAsync(TestCa.Request(TestCa.Csr($"CN=p-{i}")), CancellationToken.None))));
        Assert.All(results, r => Assert.Equal(IssuanceStatus.Issued, r.Status));
        Assert.Equal(40, (await second.ListCertificatesAsync(100, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Server_side_key_generation_certifies_the_override_key_with_the_CSR_subject()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        using ECDsa serverGenerated = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = new PublicKey(serverGenerated);
        byte[] csr = TestCa.Csr("CN=dev-keygen");
        IssuanceResult result = await ca.Authority.IssueAsync(new IssuanceRequest
        {
            CsrDer = csr, Requester = "test", Protocol = "est-coaps", OverridePublicKey = publicKey, RequestKey = "skg-1",
        }, CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, result.Status);
        Assert.Equal("CN=dev-keygen", result.Certificate!.Subject);
        Assert.Equal(publicKey.ExportSubjectPublicKeyInfo(), result.Certificate.PublicKey.ExportSubjectPublicKeyInfo());

        // The same request key with a different server-generated key must not return a certificate for the first key.
        using ECDsa another = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        IssuanceResult conflict = await ca.Authority.IssueAsync(new IssuanceRequest
        {
            CsrDer = csr, Requester = "test", Protocol = "est-coaps", OverridePublicKey = new PublicKey(another), RequestKey = "skg-1",
        }, CancellationToken.None);
        Assert.Equal(RejectionReason.RequestKeyConflict, conflict.Reason);

        using RSA weak = RSA.Create(1024);
        IssuanceResult weakOverride = await ca.Authority.IssueAsync(new IssuanceRequest
        {
            CsrDer = csr, Requester = "test", Protocol = "est-coaps", OverridePublicKey = new PublicKey(weak),
        }, CancellationToken.None);
        Assert.Equal(RejectionReason.KeyTooWeak, weakOverride.Reason);
    }

    [Fact]
    public async Task Server_side_key_generation_ignores_the_CSR_key_and_signature()
    {
        // RFC 9148 §4.8: "the server MUST ignore the public key values and signature in the CSR".
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] csr = TestCa.Csr("CN=dev-keygen-2");
        byte[] badSignature = (byte[])csr.Clone();
        badSignature[^1] ^= 0x01;
        using ECDsa serverGenerated = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        IssuanceResult result = await ca.Authority.IssueAsync(new IssuanceRequest
        {
            CsrDer = badSignature, Requester = "test", Protocol = "est-coaps", OverridePublicKey = new PublicKey(serverGenerated),
        }, CancellationToken.None);

        Assert.Equal(IssuanceStatus.Issued, result.Status);
        Assert.Equal("CN=dev-keygen-2", result.Certificate!.Subject);

        // Without a server-generated key the same CSR is still refused: the signature is its proof of possession.
        IssuanceResult enroll = await ca.Authority.IssueAsync(TestCa.Request(badSignature), CancellationToken.None);
        Assert.Equal(RejectionReason.BadSignature, enroll.Reason);
    }

    [Fact]
    public async Task Re_enrollment_marks_the_replaced_certificate_superseded()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        X509Certificate2 first = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr()), CancellationToken.None)).Certificate!;
        IssuanceResult renewed = await ca.Authority.IssueAsync(new IssuanceRequest
        {
            CsrDer = TestCa.Csr(), Requester = "test", Protocol = "est-coaps", ReplacesSerialNumber = first.SerialNumber.ToLowerInvariant(),
        }, CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, renewed.Status);
        Assert.Equal(CertificateStatus.Superseded, (await ca.Store.GetCertificateAsync(first.SerialNumber, CancellationToken.None))!.Status);
        StoredCertificate current = (await ca.Store.GetCertificateAsync(renewed.Certificate!.SerialNumber, CancellationToken.None))!;
        Assert.Equal(CertificateStatus.Active, current.Status);
        Assert.Equal(first.SerialNumber, current.ReplacesSerialNumber);
    }

    [Theory]
    [InlineData("", "est-coaps", null, null, null)]
    [InlineData("dev", "", null, null, null)]
    [InlineData("dev", "est coaps", null, null, null)]
    [InlineData("dev", "est-coaps", "bad/profile", null, null)]
    [InlineData("dev", "est-coaps", null, "", null)]
    [InlineData("dev", "est-coaps", null, null, "XYZ")]
    public async Task Out_of_range_parameters_are_rejected(string requester, string protocol, string? profile, string? requestKey, string? replaces)
    {
        await using TestCa ca = await TestCa.CreateAsync();
        IssuanceResult result = await ca.Authority.IssueAsync(new IssuanceRequest
        {
            CsrDer = TestCa.Csr(), Requester = requester, Protocol = protocol, ProfileName = profile, RequestKey = requestKey, ReplacesSerialNumber = replaces,
        }, CancellationToken.None);
        Assert.Equal(RejectionReason.InvalidParameter, result.Reason);
    }

    [Fact]
    public async Task Over_long_parameters_and_unknown_profiles_are_rejected()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        byte[] csr = TestCa.Csr();
        Assert.Equal(RejectionReason.InvalidParameter, (await ca.Authority.IssueAsync(TestCa.Request(csr, requester: new string('a', IssuanceRequest.MaxRequesterLength + 1)), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.InvalidParameter, (await ca.Authority.IssueAsync(TestCa.Request(csr, requestKey: new string('k', IssuanceRequest.MaxRequestKeyLength + 1)), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.InvalidParameter, (await ca.Authority.IssueAsync(TestCa.Request(csr, profile: new string('p', 65)), CancellationToken.None)).Reason);
        Assert.Equal(RejectionReason.UnknownProfile, (await ca.Authority.IssueAsync(TestCa.Request(csr, profile: "nope"), CancellationToken.None)).Reason);
    }
}
