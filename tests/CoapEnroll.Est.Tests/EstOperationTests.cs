using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;

namespace CoapEnroll.Est.Tests;

/// <summary>Our EST-coaps client against our server over real DTLS on loopback.</summary>
public sealed class EstOperationTests
{
    [Fact]
    public async Task Discovery_lists_the_EST_resources_with_the_RFC_9148_attributes()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using var channel = await est.ConnectAsync(est.Device);
        await using var coap = new CoapClient(channel);
        CoapMessage response = await coap.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/core").WithUriQuery("rt=ace.est*"), channel.RemoteEndPoint, EstFixture.Timeout());
        Assert.Equal(CoapCode.Content, response.Code);
        string[] links = response.PayloadText.Split(',');
        string[] expected =
        [
            "</.well-known/est/crts>;rt=\"ace.est.crts\";ct=\"281 287\"",
            "</.well-known/est/sen>;rt=\"ace.est.sen\";ct=\"281 287\"",
            "</.well-known/est/sren>;rt=\"ace.est.sren\";ct=\"281 287\"",
            "</.well-known/est/att>;rt=\"ace.est.att\";ct=285",
            "</.well-known/est/skg>;rt=\"ace.est.skg\";ct=62",
            "</.well-known/est/skc>;rt=\"ace.est.skc\";ct=62",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), links.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(16)]
    [InlineData(64)]
    public async Task Crts_answers_281_by_default_and_287_on_request(int? blockSize)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync(configure: o => o.Coap.BlockSize = blockSize);

        X509Certificate2Collection all = await client.GetCaCertificatesAsync(EstCertificateFormat.CertsOnly, EstFixture.Timeout());
        Assert.Equal(est.Authority.CaCertificates.Select(c => c.Thumbprint).Order(), all.Select(c => c.Thumbprint).Order());

        X509Certificate2Collection single = await client.GetCaCertificatesAsync(EstCertificateFormat.PkixCert, EstFixture.Timeout());
        Assert.Equal(est.Hierarchy.TrustAnchor.Thumbprint, Assert.Single(single).Thumbprint);
    }

    [Fact]
    public async Task Crts_certs_only_is_read_by_openssl()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using var channel = await est.ConnectAsync(est.Device);
        await using var coap = new CoapClient(channel);
        CoapMessage response = await coap.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/est/crts"), channel.RemoteEndPoint, EstFixture.Timeout());
        Assert.Equal(CoapCode.Content, response.Code);
        Assert.Equal(CoapContentFormat.Pkcs7CertsOnly, response.ContentFormat);
        string file = Path.Combine(est.DataDirectory, "crts.p7");
        await File.WriteAllBytesAsync(file, response.Payload.ToArray());
        string printed = await OpenSsl.RunAsync(est.DataDirectory, "pkcs7", "-inform", "DER", "-in", file, "-print_certs");
        Assert.Contains("CoapEnroll Demo Root CA", printed);
        Assert.Contains("CoapEnroll Demo Issuing CA", printed);
    }

    [Theory]
    [InlineData(null, EstCertificateFormat.CertsOnly)]
    [InlineData(16, EstCertificateFormat.CertsOnly)]
    [InlineData(64, EstCertificateFormat.PkixCert)]
    public async Task Sen_with_pop_link_then_sren_with_the_issued_certificate(int? blockSize, EstCertificateFormat format)
    {
        await using EstFixture est = await EstFixture.StartAsync(o => o.RequirePopLinking = true);
        X509Certificate2 first;
        await using (EstCoapsClient device = await est.ClientAsync(configure: o => o.Coap.BlockSize = blockSize))
        {
            first = await device.EnrollAsync(new X500DistinguishedName("CN=sensor-17, O=Example"), null, format, r =>
                r.CertificateExtensions.Add(San()), EstFixture.Timeout());
        }

        Assert.True(first.HasPrivateKey);
        Assert.Equal("CN=sensor-17, O=Example", first.Subject);
        await est.OpenSslVerifyAsync(first);

        // Re-enroll authenticated with the certificate just issued (RFC 7030 §4.2.2): same subject and SAN, new key.
        X509Certificate2 second;
        await using (EstCoapsClient renewed = await est.ClientAsync(first, o => o.Coap.BlockSize = blockSize))
        {
            second = await renewed.ReenrollAsync(first.SubjectName, null, format, r =>
                r.CertificateExtensions.Add(San()), EstFixture.Timeout());
        }

        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        await est.OpenSslVerifyAsync(second);
        StoredCertificate old = (await est.Store.GetCertificateAsync(first.SerialNumber, default))!;
        Assert.Equal(CertificateStatus.Superseded, old.Status);
        StoredCertificate current = (await est.Store.GetCertificateAsync(second.SerialNumber, default))!;
        Assert.Equal(first.SerialNumber, current.ReplacesSerialNumber);
        Assert.Equal("est-coaps", (await est.Store.GetRequestAsync(current.RequestId, default))!.Protocol);
    }

    [Fact]
    public async Task Enrolled_device_presenting_only_its_leaf_is_validated_at_the_DTLS_layer()
    {
        // A probe next to EST reports what the DTLS layer concluded about the client's certificate.
        await using EstFixture est = await EstFixture.StartAsync(configureServer: server => server.MapGet("/probe/peer", (context, _) => ValueTask.FromResult(
            new CoapMessage { Code = CoapCode.Content }.WithPayload(context.RemoteEndPoint is DtlsSessionEndPoint { PeerCertificates: { Count: > 0 } presented } session
                ? $"{(session.IsPeerCertificateValidated ? "validated" : "unvalidated")} {presented.Count}"
                : "anonymous"))));
        Assert.NotEqual(est.Hierarchy.TrustAnchor.Thumbprint, est.Hierarchy.IssuingCa.Thumbprint);

        X509Certificate2 issued;
        await using (EstCoapsClient device = await est.ClientAsync())
        {
            issued = await device.EnrollAsync(new X500DistinguishedName("CN=leaf-only"), cancellationToken: EstFixture.Timeout());
        }

        Assert.Equal(est.Hierarchy.IssuingCa.SubjectName.RawData, issued.IssuerName.RawData);
        // The fixture's DTLS client sends the certificate alone, without the issuing CA (as `est enroll --out` writes it).
        Assert.Equal("validated 1", await ProbePeerAsync(est, issued));
        Assert.Equal("unvalidated 1", await ProbePeerAsync(est, EstFixture.SelfSigned()));
    }

    private static async Task<string> ProbePeerAsync(EstFixture est, X509Certificate2 clientCertificate)
    {
        await using var channel = await est.ConnectAsync(clientCertificate);
        await using var coap = new CoapClient(channel);
        CoapMessage response = await coap.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/probe/peer"), channel.RemoteEndPoint, EstFixture.Timeout());
        Assert.Equal(CoapCode.Content, response.Code);
        return response.PayloadText;
    }

    private static X509Extension San()
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("sensor-17.example");
        return san.Build();
    }

    [Fact]
    public async Task Issued_public_key_equals_the_csr_key_checked_with_openssl()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=keycheck"), key);
        X509Certificate2 issued = await client.EnrollAsync(csr, EstCertificateFormat.CertsOnly, EstFixture.Timeout());

        await File.WriteAllTextAsync(Path.Combine(est.DataDirectory, "req.pem"), PemEncoding.WriteString("CERTIFICATE REQUEST", csr));
        est.WritePem("issued.pem", issued);
        string fromCsr = await OpenSsl.RunAsync(est.DataDirectory, "req", "-in", "req.pem", "-noout", "-pubkey");
        string fromCert = await OpenSsl.RunAsync(est.DataDirectory, "x509", "-in", "issued.pem", "-noout", "-pubkey");
        Assert.Equal(fromCsr.Trim(), fromCert.Trim());
        await est.OpenSslVerifyAsync(issued);
    }

    [Fact]
    public async Task Label_selects_the_profile_and_an_unknown_label_is_4_04()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using (EstCoapsClient labelled = await est.ClientAsync(configure: o => o.Label = "lbl"))
        {
            X509Certificate2 issued = await labelled.EnrollAsync(new X500DistinguishedName("CN=labelled"), cancellationToken: EstFixture.Timeout());
            Assert.Equal("lbl", (await est.Store.GetCertificateAsync(issued.SerialNumber, default))!.Profile);
            Assert.InRange((issued.NotAfter - issued.NotBefore).TotalDays, 29, 31);
            Assert.Equal(est.Authority.CaCertificates.Count, (await labelled.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout())).Count);
        }

        await using EstCoapsClient unknown = await est.ClientAsync(configure: o => o.Label = "nope");
        var ex = await Assert.ThrowsAsync<EstRequestException>(() => unknown.EnrollAsync(new X500DistinguishedName("CN=x"), cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.NotFound, ex.Code);
        Assert.Single(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Client_discovers_a_non_default_root()
    {
        await using EstFixture est = await EstFixture.StartAsync(o => o.Roots = ["/est"]);
        await using EstCoapsClient client = await est.ClientAsync(configure: o => o.UseDiscovery = true);
        X509Certificate2 issued = await client.EnrollAsync(new X500DistinguishedName("CN=discovered"), cancellationToken: EstFixture.Timeout());
        Assert.Equal("/est/sen", client.DiscoveredResources["ace.est.sen"]);
        Assert.Equal("CN=discovered", issued.Subject);
    }

    [Fact]
    public async Task Att_returns_the_csr_attributes()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync();
        IReadOnlyList<EstCsrAttribute> items = await client.GetCsrAttributesAsync(EstFixture.Timeout());
        Assert.Contains(items, i => i.IsOid && i.Oid == "1.2.840.113549.1.9.7");
        Assert.Contains(items, i => i.IsOid && i.Oid == "1.2.840.10045.4.3.2");
        EstCsrAttribute ec = Assert.Single(items, i => i.Oid == "1.2.840.10045.2.1");
        Assert.Equal(Convert.FromHexString("06082A8648CE3D030107"), Assert.Single(ec.Values!));
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, 16)]
    [InlineData(false, 64)]
    public async Task Server_key_generation_returns_a_key_matching_the_certificate(bool singleCertificate, int? blockSize)
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync(configure: o => o.Coap.BlockSize = blockSize);
        EstServerKeyGenResult result = await client.ServerKeyGenAsync(new X500DistinguishedName("CN=keygen"), singleCertificate, null, EstFixture.Timeout());
        Assert.False(result.KeyWasEncrypted);
        Assert.Equal(singleCertificate ? 287 : 281, result.CertificateContentFormat);
        Assert.Equal("CN=keygen", result.Certificate.Subject);
        using ECDsa key = result.Certificate.GetECDsaPrivateKey()!;
        byte[] signature = key.SignData(new byte[] { 1, 2, 3 }, HashAlgorithmName.SHA256);
        Assert.True(result.Certificate.GetECDsaPublicKey()!.VerifyData(new byte[] { 1, 2, 3 }, signature, HashAlgorithmName.SHA256));
        await est.OpenSslVerifyAsync(result.Certificate);
        Assert.Single(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Server_key_generation_ignores_the_csr_signature()
    {
        // RFC 9148 §4.8: "the server MUST ignore the public key values and signature in the CSR".
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync();
        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=unsigned-keygen"), throwaway);
        csr[^1] ^= 0x01;

        EstServerKeyGenResult result = await client.ServerKeyGenAsync(csr, false, null, EstFixture.Timeout());

        Assert.Equal("CN=unsigned-keygen", result.Certificate.Subject);
        Assert.NotEqual(throwaway.ExportSubjectPublicKeyInfo(), result.Certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Single(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Server_generated_key_is_encrypted_to_an_rsa_certificate_named_in_the_csr()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync();
        await client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout());

        // First the device obtains an RSA key-transport certificate with its own subject (label "enc": keyEncipherment).
        using RSA rsa = RSA.Create(2048);
        var request = new CertificateRequest(est.Device.SubjectName, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        X509Certificate2 encryption;
        await using (EstCoapsClient enc = await est.ClientAsync(configure: o => o.Label = "enc"))
        {
            encryption = (await enc.EnrollAsync(request.CreateSigningRequest(), EstCertificateFormat.PkixCert, EstFixture.Timeout())).CopyWithPrivateKey(rsa);
        }

        EstServerKeyGenResult result = await client.ServerKeyGenAsync(new X500DistinguishedName("CN=sealed"), false, encryption, EstFixture.Timeout());
        Assert.True(result.KeyWasEncrypted);
        Assert.Equal("CN=sealed", result.Certificate.Subject);
        Assert.True(result.Certificate.HasPrivateKey);
        Assert.Equal(2, (await est.CertificatesAsync()).Count);
    }

    [Fact]
    public async Task Server_generated_key_is_encrypted_to_an_ec_key_agreement_certificate_named_in_the_csr()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync();
        await client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout());

        // The device first obtains a P-256 key agreement certificate with its own subject (label "kex": keyAgreement).
        X509Certificate2 kex = await EnrollKeyAgreementCertificateAsync(est);

        Assert.Equal(X509KeyUsageFlags.KeyAgreement, kex.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.True(kex.HasPrivateKey);
        EstServerKeyGenResult result = await client.ServerKeyGenAsync(new X500DistinguishedName("CN=ec-sealed"), true, kex, EstFixture.Timeout());

        Assert.True(result.KeyWasEncrypted);
        Assert.Equal("CN=ec-sealed", result.Certificate.Subject);
        using ECDsa key = result.Certificate.GetECDsaPrivateKey()!;
        Assert.Equal(result.Certificate.PublicKey.ExportSubjectPublicKeyInfo(), key.ExportSubjectPublicKeyInfo());
        Assert.Equal(2, (await est.CertificatesAsync()).Count);

        // Wrong keys are refused by the envelope itself (KeyAgreementTests); here: without the certificate and key, no key comes back.
        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=ec-sealed-2"), throwaway, r => EstCoapsClient.AddEncryptionRequest(r, kex));
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ServerKeyGenAsync(csr, false, null, EstFixture.Timeout()));
        Assert.Contains("encrypted key (280)", ex.Message);
    }

    [Fact]
    public async Task A_csr_offering_only_an_aes_key_wrap_gets_the_key_encrypted_with_ecdh()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync();
        await client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout());
        X509Certificate2 kex = await EnrollKeyAgreementCertificateAsync(est);

        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=wrap-only"), throwaway, r => AddEncryptionAttributes(r, kex, "2.16.840.1.101.3.4.1.5"));

        EstServerKeyGenResult result = await client.ServerKeyGenAsync(csr, false, kex, EstFixture.Timeout());

        Assert.True(result.KeyWasEncrypted);
        Assert.Equal("CN=wrap-only", result.Certificate.Subject);
    }

    [Fact]
    public async Task Encrypted_key_to_an_ec_certificate_without_key_agreement_usage_is_4_00_and_nothing_is_issued()
    {
        // RFC 7030 §4.4.1.2: the recipient key must allow keyAgreement or be unrestricted; the demo IDevID has digitalSignature only.
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync();
        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=ec-sealed"), throwaway, r => AddEncryptionAttributes(r, est.Device, "1.3.132.1.11.1"));

        var ex = await Assert.ThrowsAsync<EstRequestException>(() => client.ServerKeyGenAsync(csr, false, null, EstFixture.Timeout()));

        Assert.Equal(CoapCode.BadRequest, ex.Code);
        Assert.Contains("keyAgreement", ex.Diagnostic);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Encrypted_key_with_no_usable_capability_is_4_00_and_nothing_is_issued()
    {
        await using EstFixture est = await EstFixture.StartAsync();
        await using EstCoapsClient client = await est.ClientAsync();
        X509Certificate2 kex = await EnrollKeyAgreementCertificateAsync(est);

        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // Only RSA key transport and a content cipher: nothing an EC key can agree with.
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=no-kari"), throwaway,
            r => AddEncryptionAttributes(r, kex, "1.2.840.113549.1.1.7", "2.16.840.1.101.3.4.1.42"));

        var ex = await Assert.ThrowsAsync<EstRequestException>(() => client.ServerKeyGenAsync(csr, false, kex, EstFixture.Timeout()));

        Assert.Equal(CoapCode.BadRequest, ex.Code);
        Assert.Contains("key agreement", ex.Diagnostic);
        Assert.Single(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Server_generated_key_is_encrypted_under_the_symmetric_key_named_by_decrypt_key_identifier()
    {
        byte[] kek = RandomNumberGenerator.GetBytes(32);
        await using EstFixture est = await EstFixture.StartAsync(o => o.KeyEncryptionKeys["0102A0"] = Convert.ToBase64String(kek));
        await using EstCoapsClient client = await est.ClientAsync();
        await client.GetCaCertificatesAsync(cancellationToken: EstFixture.Timeout());

        EstServerKeyGenResult result = await client.ServerKeyGenAsync(new X500DistinguishedName("CN=kek-sealed"), new EstSymmetricKey(new byte[] { 0x01, 0x02, 0xA0 }, kek),
            cancellationToken: EstFixture.Timeout());

        Assert.True(result.KeyWasEncrypted);
        Assert.Equal("CN=kek-sealed", result.Certificate.Subject);
        using ECDsa key = result.Certificate.GetECDsaPrivateKey()!;
        Assert.Equal(result.Certificate.PublicKey.ExportSubjectPublicKeyInfo(), key.ExportSubjectPublicKeyInfo());

        // The wrong key for the right identifier: the client refuses rather than returning garbage.
        byte[] wrong = (byte[])kek.Clone();
        wrong[5] ^= 1;
        await Assert.ThrowsAsync<CryptographicException>(() => client.ServerKeyGenAsync(new X500DistinguishedName("CN=kek-sealed-2"),
            new EstSymmetricKey(new byte[] { 0x01, 0x02, 0xA0 }, wrong), cancellationToken: EstFixture.Timeout()));
    }

    [Theory]
    [InlineData("0102A1", "2.16.840.1.101.3.4.1.45", "no symmetric key matches")]
    [InlineData("0102A0", "2.16.840.1.101.3.4.1.5", "does not list 2.16.840.1.101.3.4.1.45")]
    [InlineData("0102A0", null, "needs an SMIMECapabilities")]
    public async Task Decrypt_key_identifier_refusals_are_4_00_and_nothing_is_issued(string keyIdHex, string? capability, string diagnostic)
    {
        await using EstFixture est = await EstFixture.StartAsync(o => o.KeyEncryptionKeys["0102A0"] = Convert.ToBase64String(new byte[32]));
        await using EstCoapsClient client = await est.ClientAsync();
        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=kek-refused"), throwaway, r =>
        {
            var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
            writer.WriteOctetString(Convert.FromHexString(keyIdHex));
            r.OtherRequestAttributes.Add(new AsnEncodedData("1.2.840.113549.1.9.16.2.37", writer.Encode()));
            if (capability is not null)
            {
                var caps = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
                using (caps.PushSequence())
                using (caps.PushSequence())
                {
                    caps.WriteObjectIdentifier(capability);
                }

                r.OtherRequestAttributes.Add(new AsnEncodedData("1.2.840.113549.1.9.15", caps.Encode()));
            }
        });

        var ex = await Assert.ThrowsAsync<EstRequestException>(() => client.ServerKeyGenAsync(csr, false, null, EstFixture.Timeout()));

        Assert.Equal(CoapCode.BadRequest, ex.Code);
        Assert.Contains(diagnostic, ex.Diagnostic);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Theory]
    [InlineData("zz", "AAAAAAAAAAAAAAAAAAAAAA==")]
    [InlineData("01", "not base64!")]
    [InlineData("01", "AAAAAAAAAAAAAAAAAAAA")]
    public async Task A_malformed_key_encryption_key_setting_fails_at_startup_naming_it(string id, string value)
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => EstFixture.StartAsync(o => o.KeyEncryptionKeys[id] = value));
        Assert.Contains("Est:KeyEncryptionKeys:" + id, ex.Message);
    }

    [Fact]
    public async Task A_server_answering_an_encryption_request_in_the_clear_is_refused_by_the_client()
    {
        // A ready CSR asking for the key encrypted, with no key given to the client: a plaintext 284 is still a downgrade.
        await using EstFixture est = await EstFixture.StartAsync(configureServer: server => server.MapPost("/rogue/skg", (_, _) =>
        {
            using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            byte[] certificate = new CertificateRequest("CN=rogue", key, HashAlgorithmName.SHA256)
                .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1)).RawData;
            byte[] body = MultipartCore.Encode([new(CoapContentFormat.Pkcs8, key.ExportPkcs8PrivateKey()), new(CoapContentFormat.PkixCert, certificate)]);
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.Changed }.WithContentFormat(CoapContentFormat.MultipartCore).WithPayload(body));
        }));
        await using EstCoapsClient client = await est.ClientAsync(configure: o => o.Root = "/rogue");
        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=rogue"), throwaway, r => AddEncryptionAttributes(r, est.Device, "1.3.132.1.11.1"));

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => client.ServerKeyGenAsync(csr, false, null, EstFixture.Timeout()));
        Assert.Contains("unencrypted (284)", ex.Message);
    }

    [Fact]
    public async Task A_recipient_key_the_platform_cannot_encrypt_to_is_4_00_and_recorded()
    {
        // A 512-bit RSA key cannot carry a 32-byte key with OAEP-SHA-256: the platform throws, the device gets 4.00.
        using RSA weak = RSA.Create(512);
        var request = new CertificateRequest("CN=weak", weak, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        X509Certificate2 weakCertificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        await using EstFixture est = await EstFixture.StartAsync(o => o.RecipientCertificateResolver = (_, _) => ValueTask.FromResult<X509Certificate2?>(weakCertificate));
        await using EstCoapsClient client = await est.ClientAsync();
        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=weak-sealed"), throwaway, r => EstCoapsClient.AddEncryptionRequest(r, weakCertificate));

        var ex = await Assert.ThrowsAsync<EstRequestException>(() => client.ServerKeyGenAsync(csr, false, null, EstFixture.Timeout()));

        Assert.Equal(CoapCode.BadRequest, ex.Code);
        Assert.Contains("cannot carry the generated key", ex.Diagnostic);
        Assert.Empty(await est.CertificatesAsync());
        Assert.Equal(RejectionReason.UnsatisfiableRequest, Assert.Single(await est.RequestsAsync()).RejectionReason);
    }

    // A P-256 certificate with the device's own subject from label "kex" (keyUsage keyAgreement), its key attached.
    private static async Task<X509Certificate2> EnrollKeyAgreementCertificateAsync(EstFixture est)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using EstCoapsClient enroll = await est.ClientAsync(configure: o => o.Label = "kex");
        return await enroll.EnrollAsync(est.Device.SubjectName, key, EstCertificateFormat.PkixCert, cancellationToken: EstFixture.Timeout());
    }

    private static void AddEncryptionAttributes(CertificateRequest request, X509Certificate2 recipient, params string[] capabilities)
    {
        byte[] keyId = recipient.Extensions.OfType<X509SubjectKeyIdentifierExtension>().First().SubjectKeyIdentifierBytes.ToArray();
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        writer.WriteOctetString(keyId);
        var caps = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (caps.PushSequence())
        {
            foreach (string capability in capabilities)
            {
                using (caps.PushSequence())
                {
                    caps.WriteObjectIdentifier(capability);
                }
            }
        }

        request.OtherRequestAttributes.Add(new AsnEncodedData("1.2.840.113549.1.9.15", caps.Encode()));
        request.OtherRequestAttributes.Add(new AsnEncodedData("1.2.840.113549.1.9.16.2.54", writer.Encode()));
    }
}
