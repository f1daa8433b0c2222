using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Testing;

namespace CoapEnroll.Est.Tests;

/// <summary>RFC 3394 AES key wrap and the CMS KeyAgreeRecipientInfo (RFC 5753) used for 280 to EC recipients.</summary>
public sealed class KeyAgreementTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coapenroll-kari-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    // RFC 3394 §4.1 (128-bit KEK, 128-bit key) and §4.6 (256-bit KEK, 256-bit key).
    [InlineData("000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")]
    [InlineData("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
        "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21")]
    // RFC 3394 §4.3 (192-bit KEK).
    [InlineData("000102030405060708090A0B0C0D0E0F1011121314151617", "00112233445566778899AABBCCDDEEFF", "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D")]
    public void Aes_key_wrap_matches_the_rfc_3394_vectors(string kek, string key, string wrapped)
    {
        Assert.Equal(wrapped, Convert.ToHexString(AesKeyWrap.Wrap(Convert.FromHexString(kek), Convert.FromHexString(key))));
        Assert.Equal(key, Convert.ToHexString(AesKeyWrap.Unwrap(Convert.FromHexString(kek), Convert.FromHexString(wrapped))));
    }

    [Fact]
    public void Aes_key_unwrap_refuses_altered_data_a_wrong_key_and_bad_lengths()
    {
        byte[] kek = Convert.FromHexString("000102030405060708090A0B0C0D0E0F");
        byte[] wrapped = Convert.FromHexString("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");
        for (int i = 0; i < wrapped.Length; i++)
        {
            byte[] altered = (byte[])wrapped.Clone();
            altered[i] ^= 0x40;
            Assert.Throws<CryptographicException>(() => AesKeyWrap.Unwrap(kek, altered));
        }

        byte[] wrongKek = (byte[])kek.Clone();
        wrongKek[^1] ^= 1;
        Assert.Throws<CryptographicException>(() => AesKeyWrap.Unwrap(wrongKek, wrapped));
        Assert.Throws<CryptographicException>(() => AesKeyWrap.Unwrap(kek, wrapped.AsSpan(0, 16)));
        Assert.Throws<CryptographicException>(() => AesKeyWrap.Unwrap(kek, wrapped.AsSpan(0, 23)));
        Assert.Throws<ArgumentException>(() => AesKeyWrap.Wrap(kek, new byte[12]));
        Assert.Throws<ArgumentException>(() => AesKeyWrap.Wrap(new byte[15], new byte[16]));
    }

    [Theory]
    [InlineData("nistP256", EstOids.EcdhStdSha256Kdf, EstOids.Aes256Wrap, EstOids.Aes256Cbc)]
    [InlineData("nistP256", EstOids.EcdhStdSha1Kdf, EstOids.Aes128Wrap, EstOids.Aes128Cbc)]
    [InlineData("nistP384", EstOids.EcdhStdSha384Kdf, EstOids.Aes192Wrap, EstOids.Aes256Cbc)]
    [InlineData("nistP521", EstOids.EcdhCofactorSha512Kdf, EstOids.Aes256Wrap, EstOids.Aes128Cbc)]
    public void Key_agreement_round_trips_and_only_the_recipient_opens_it(string curve, string scheme, string wrap, string content)
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = Recipient(curve, withSki: true);
        using (key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(300);
            byte[] envelope = CmsKeyAgreement.Encrypt(plaintext, "1.2.840.113549.1.7.1", recipient, new(scheme, wrap, content));

            Assert.Equal(plaintext, CmsKeyAgreement.Decrypt(envelope, key, recipient, out string type));
            Assert.Equal("1.2.840.113549.1.7.1", type);

            // Another holder of a certificate with the same identifiers but a different key fails the key wrap check.
            (X509Certificate2 other, ECDiffieHellman otherKey) = Recipient(curve, withSki: true, ski: recipient.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifierBytes.ToArray());
            using (otherKey)
            {
                Assert.Throws<CryptographicException>(() => CmsKeyAgreement.Decrypt(envelope, otherKey, other, out _));
            }

            // A certificate the envelope does not name is told so.
            (X509Certificate2 stranger, ECDiffieHellman strangerKey) = Recipient(curve, withSki: true);
            using (strangerKey)
            {
                var ex = Assert.Throws<CryptographicException>(() => CmsKeyAgreement.Decrypt(envelope, strangerKey, stranger, out _));
                Assert.Contains("names the recipient", ex.Message);
            }
        }
    }

    [Fact]
    public void A_recipient_without_subject_key_identifier_is_named_by_issuer_and_serial()
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = Recipient("nistP256", withSki: false);
        using (key)
        {
            byte[] envelope = CmsKeyAgreement.Encrypt([1, 2, 3], "1.2.840.113549.1.7.1", recipient, CmsKeyAgreement.Choose([EstOids.Aes128Wrap], 256));
            Assert.Equal(new byte[] { 1, 2, 3 }, CmsKeyAgreement.Decrypt(envelope, key, recipient, out _));
        }
    }

    [Fact]
    public void Every_altered_octet_of_the_envelope_is_refused_or_leaves_the_content_intact()
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = Recipient("nistP256", withSki: true);
        using (key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(64);
            byte[] envelope = CmsKeyAgreement.Encrypt(plaintext, "1.2.840.113549.1.7.1", recipient, CmsKeyAgreement.Choose([EstOids.EcdhStdSha256Kdf], 256));
            int versionOctet = envelope.AsSpan().IndexOf(new byte[] { 0x02, 0x01, 0x02 }) + 2;
            int refused = 0;
            for (int i = 0; i < envelope.Length; i++)
            {
                byte[] altered = (byte[])envelope.Clone();
                altered[i] ^= 0x01;
                try
                {
                    byte[] opened = CmsKeyAgreement.Decrypt(altered, key, recipient, out string type);

                    // CBC without a MAC: a flipped ciphertext bit can survive padding (the SignedData signature inside catches
                    // that), and a changed content type shows. Only the EnvelopedData version (2 → 3) changes nothing that matters.
                    Assert.True(!plaintext.AsSpan().SequenceEqual(opened) || type != "1.2.840.113549.1.7.1" || i == versionOctet,
                        $"octet {i} of {Convert.ToHexString(envelope)}");
                }
                catch (CryptographicException)
                {
                    refused++;
                }
            }

            Assert.True(refused > envelope.Length / 2, $"only {refused} of {envelope.Length} alterations were refused");
            Assert.Throws<CryptographicException>(() => CmsKeyAgreement.Decrypt(envelope.AsSpan(0, envelope.Length - 1), key, recipient, out _));
            Assert.Throws<CryptographicException>(() => CmsKeyAgreement.Decrypt([.. envelope, 0], key, recipient, out _));
        }
    }

    [Fact]
    public void An_originator_key_off_the_curve_is_refused()
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = Recipient("nistP256", withSki: true);
        using (key)
        {
            byte[] envelope = CmsKeyAgreement.Encrypt([1, 2, 3], "1.2.840.113549.1.7.1", recipient, CmsKeyAgreement.Choose([EstOids.EcdhStdSha256Kdf], 256));
            // The ephemeral point follows the id-ecPublicKey OID: BIT STRING 03 42 00 04 X Y; bend its last Y octet.
            int at = envelope.AsSpan().IndexOf(new byte[] { 0x03, 0x42, 0x00, 0x04 });
            Assert.True(at > 0);
            envelope[at + 4 + 63] ^= 0x01;
            var ex = Assert.Throws<CryptographicException>(() => CmsKeyAgreement.Decrypt(envelope, key, recipient, out _));
            Assert.Contains("point", ex.Message);
        }
    }

    [Fact]
    public void Choose_needs_a_key_agreement_or_key_wrap_capability()
    {
        Assert.Throws<ArgumentException>(() => CmsKeyAgreement.Choose([EstOids.RsaesOaep, EstOids.Aes256Cbc], 256));
        Assert.Throws<ArgumentException>(() => CmsKeyAgreement.Choose([EstOids.Aes128Cbc], 256));
        Assert.Equal(new CmsKeyAgreement.Algorithms(EstOids.EcdhStdSha384Kdf, EstOids.Aes128Wrap, EstOids.Aes128Cbc),
            CmsKeyAgreement.Choose([EstOids.Aes128Wrap, EstOids.Aes128Cbc], 384));
        Assert.Equal(new CmsKeyAgreement.Algorithms(EstOids.EcdhStdSha256Kdf, EstOids.Aes128Wrap, EstOids.Aes128Cbc),
            CmsKeyAgreement.Choose([EstOids.EcdhStdSha256Kdf, EstOids.Aes128Cbc], 256));
        Assert.Equal(new CmsKeyAgreement.Algorithms(EstOids.EcdhStdSha1Kdf, EstOids.Aes256Wrap, EstOids.Aes256Cbc),
            CmsKeyAgreement.Choose([EstOids.EcdhStdSha1Kdf, EstOids.EcdhStdSha256Kdf], 256));
    }

    [Fact]
    public async Task OpenSsl_cms_decrypts_our_envelope()
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = Recipient("nistP256", withSki: true);
        using (key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(200);
            byte[] envelope = CmsKeyAgreement.Encrypt(plaintext, "1.2.840.113549.1.7.1", recipient, CmsKeyAgreement.Choose([EstOids.EcdhStdSha256Kdf, EstOids.Aes256Wrap, EstOids.Aes256Cbc], 256));
            string certPath = Write("recipient.pem", recipient.ExportCertificatePem());
            string keyPath = Write("recipient.key", key.ExportPkcs8PrivateKeyPem());
            string inPath = Path.Combine(_directory, "envelope.der");
            await File.WriteAllBytesAsync(inPath, envelope);
            string outPath = Path.Combine(_directory, "opened.bin");

            await OpenSsl.RunAsync(_directory, "cms", "-decrypt", "-inform", "DER", "-in", inPath, "-recip", certPath, "-inkey", keyPath, "-binary", "-out", outPath);

            Assert.Equal(plaintext, await File.ReadAllBytesAsync(outPath));
        }
    }

    [Theory]
    [InlineData(null, false)] // openssl's default KDF digest, recipient named by issuer and serial
    [InlineData("sha256", true)]
    [InlineData("sha384", false)]
    public async Task We_decrypt_an_envelope_made_by_openssl_cms(string? kdfDigest, bool keyId)
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = Recipient("nistP256", withSki: true);
        using (key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(200);
            string certPath = Write("recipient.pem", recipient.ExportCertificatePem());
            string inPath = Path.Combine(_directory, "plain.bin");
            await File.WriteAllBytesAsync(inPath, plaintext);
            string outPath = Path.Combine(_directory, "envelope.der");
            var arguments = new List<string> { "cms", "-encrypt", "-binary", "-aes256", "-in", inPath, "-outform", "DER", "-out", outPath, "-recip", certPath };
            if (keyId)
            {
                arguments.Add("-keyid");
            }

            if (kdfDigest is not null)
            {
                arguments.AddRange(["-keyopt", "ecdh_kdf_md:" + kdfDigest]);
            }

            await OpenSsl.RunAsync(_directory, [.. arguments]);

            byte[] opened = CmsKeyAgreement.Decrypt(await File.ReadAllBytesAsync(outPath), key, recipient, out string type);
            Assert.Equal(plaintext, opened);
            Assert.Equal("1.2.840.113549.1.7.1", type);
        }
    }

    [Theory]
    [InlineData(16, EstOids.Aes128Cbc)]
    [InlineData(24, EstOids.Aes256Cbc)]
    [InlineData(32, EstOids.Aes256Cbc)]
    public void Kek_envelope_round_trips_and_refuses_a_wrong_key_or_identifier(int kekLength, string content)
    {
        byte[] kek = RandomNumberGenerator.GetBytes(kekLength);
        byte[] id = RandomNumberGenerator.GetBytes(8);
        byte[] plaintext = RandomNumberGenerator.GetBytes(100);
        byte[] envelope = CmsKeyEncryptionKey.Encrypt(plaintext, "1.2.840.113549.1.7.1", id, kek, content);

        Assert.Equal(plaintext, CmsKeyEncryptionKey.Decrypt(envelope, id, kek, out string type));
        Assert.Equal("1.2.840.113549.1.7.1", type);
        byte[] wrongKek = (byte[])kek.Clone();
        wrongKek[0] ^= 0x80;
        Assert.Throws<CryptographicException>(() => CmsKeyEncryptionKey.Decrypt(envelope, id, wrongKek, out _));
        var ex = Assert.Throws<CryptographicException>(() => CmsKeyEncryptionKey.Decrypt(envelope, [.. id, 0], kek, out _));
        Assert.Contains("key identifier", ex.Message);
        Assert.Throws<CryptographicException>(() => CmsKeyEncryptionKey.Decrypt(envelope, id, RandomNumberGenerator.GetBytes(kekLength == 16 ? 32 : 16), out _));
    }

    [Fact]
    public async Task OpenSsl_cms_and_we_exchange_kek_envelopes()
    {
        byte[] kek = RandomNumberGenerator.GetBytes(32);
        byte[] id = RandomNumberGenerator.GetBytes(6);
        byte[] plaintext = RandomNumberGenerator.GetBytes(150);
        string ours = Path.Combine(_directory, "ours.der");
        await File.WriteAllBytesAsync(ours, CmsKeyEncryptionKey.Encrypt(plaintext, "1.2.840.113549.1.7.1", id, kek, EstOids.Aes256Cbc));
        string opened = Path.Combine(_directory, "opened.bin");

        await OpenSsl.RunAsync(_directory, "cms", "-decrypt", "-inform", "DER", "-in", ours, "-secretkey", Convert.ToHexString(kek),
            "-secretkeyid", Convert.ToHexString(id), "-binary", "-out", opened);
        Assert.Equal(plaintext, await File.ReadAllBytesAsync(opened));

        string plain = Path.Combine(_directory, "plain.bin");
        await File.WriteAllBytesAsync(plain, plaintext);
        string theirs = Path.Combine(_directory, "theirs.der");
        await OpenSsl.RunAsync(_directory, "cms", "-encrypt", "-binary", "-aes128", "-in", plain, "-outform", "DER", "-out", theirs,
            "-secretkey", Convert.ToHexString(kek), "-secretkeyid", Convert.ToHexString(id));
        Assert.Equal(plaintext, CmsKeyEncryptionKey.Decrypt(await File.ReadAllBytesAsync(theirs), id, kek, out _));
    }

    [Fact]
    public async Task A_key_wrap_with_null_parameters_enters_the_kdf_as_sent()
    {
        // RFC 5753 §7.2: ECC-CMS-SharedInfo carries the KeyWrapAlgorithm as in the kari; some peers write NULL parameters.
        (X509Certificate2 recipient, ECDiffieHellman key) = Recipient("nistP256", withSki: true);
        using (key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(40);
            byte[] envelope = CmsKeyAgreement.Encrypt(plaintext, "1.2.840.113549.1.7.1", recipient,
                CmsKeyAgreement.Choose([EstOids.EcdhStdSha256Kdf, EstOids.Aes256Wrap], 256), nullWrapParameters: true);

            Assert.Equal(plaintext, CmsKeyAgreement.Decrypt(envelope, key, recipient, out _));
            string inPath = Path.Combine(_directory, "null.der");
            await File.WriteAllBytesAsync(inPath, envelope);
            await OpenSsl.RunAsync(_directory, "cms", "-decrypt", "-inform", "DER", "-in", inPath, "-recip", Write("r.pem", recipient.ExportCertificatePem()),
                "-inkey", Write("r.key", key.ExportPkcs8PrivateKeyPem()), "-binary", "-out", Path.Combine(_directory, "null.out"));
            Assert.Equal(plaintext, await File.ReadAllBytesAsync(Path.Combine(_directory, "null.out")));
        }
    }

    [Fact]
    public async Task A_kari_for_another_recipient_on_another_curve_does_not_stop_the_search()
    {
        (X509Certificate2 p384, ECDiffieHellman p384Key) = Recipient("nistP384", withSki: true);
        (X509Certificate2 p256, ECDiffieHellman p256Key) = Recipient("nistP256", withSki: true);
        using (p384Key)
        using (p256Key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(77);
            string inPath = Path.Combine(_directory, "plain.bin");
            await File.WriteAllBytesAsync(inPath, plaintext);
            string outPath = Path.Combine(_directory, "two.der");
            await OpenSsl.RunAsync(_directory, "cms", "-encrypt", "-binary", "-aes256", "-in", inPath, "-outform", "DER", "-out", outPath,
                "-recip", Write("p384.pem", p384.ExportCertificatePem()), "-recip", Write("p256.pem", p256.ExportCertificatePem()));
            byte[] envelope = await File.ReadAllBytesAsync(outPath);

            Assert.Equal(plaintext, CmsKeyAgreement.Decrypt(envelope, p256Key, p256, out _));
            Assert.Equal(plaintext, CmsKeyAgreement.Decrypt(envelope, p384Key, p384, out _));
        }
    }

    [Fact]
    public void Recipients_off_the_nist_curves_are_refused()
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = Recipient("brainpoolP256r1", withSki: true);
        using (key)
        {
            var ex = Assert.Throws<ArgumentException>(() => CmsKeyAgreement.Encrypt([1], "1.2.840.113549.1.7.1", recipient, CmsKeyAgreement.Choose([EstOids.EcdhStdSha256Kdf], 256)));
            Assert.Contains("P-256, P-384 or P-521", ex.Message);
        }
    }

    [Fact]
    public void Capability_parameters_choose_the_oaep_hash_and_the_key_wrap()
    {
        // RFC 4055 §4.1: id-RSAES-OAEP without parameters is SHA-1 with MGF1-SHA-1.
        Assert.Equal(RSAEncryptionPadding.OaepSHA1, ServerGeneratedKeyEnvelope.OaepPadding(new SmimeCapability(EstOids.RsaesOaep)));
        Assert.Equal(RSAEncryptionPadding.OaepSHA256, ServerGeneratedKeyEnvelope.OaepPadding(new SmimeCapability(EstOids.RsaesOaep, ServerGeneratedKeyEnvelope.OaepSha256Parameters())));

        // SHA-256 with MGF1-SHA-1 is something the platform cannot do: not usable.
        var mixed = new AsnWriter(AsnEncodingRules.DER);
        using (mixed.PushSequence())
        {
            using (mixed.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            using (mixed.PushSequence())
            {
                mixed.WriteObjectIdentifier(EstOids.Sha256);
            }
        }

        Assert.Null(ServerGeneratedKeyEnvelope.OaepPadding(new SmimeCapability(EstOids.RsaesOaep, mixed.Encode())));

        // RFC 5753 §5: the scheme's parameters name the key wrap, ahead of a wrap listed separately.
        Assert.Equal(new CmsKeyAgreement.Algorithms(EstOids.EcdhStdSha256Kdf, EstOids.Aes128Wrap, EstOids.Aes256Cbc),
            CmsKeyAgreement.Choose([new SmimeCapability(EstOids.EcdhStdSha256Kdf, CmsKeyAgreement.SchemeParameters(EstOids.Aes128Wrap)), EstOids.Aes256Wrap], 256));
    }

    [Fact]
    public void A_key_package_signed_by_someone_else_from_the_same_ca_is_refused()
    {
        // Every device holds a certificate from the EST CA: chaining to the anchor is not enough to be the key generator.
        using ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=est ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        X509Certificate2 Leaf(string name)
        {
            using ECDsa leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(name, leafKey, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            return request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8)).CopyWithPrivateKey(leafKey);
        }

        using X509Certificate2 server = Leaf("CN=est server");
        using X509Certificate2 otherDevice = Leaf("CN=other device");
        (X509Certificate2 recipient, ECDiffieHellman key) = Recipient("nistP256", withSki: true);
        using (key)
        {
            using ECDsa generated = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            byte[] pkcs8 = generated.ExportPkcs8PrivateKey();
            byte[] byOther = ServerGeneratedKeyEnvelope.Protect((byte[])pkcs8.Clone(), recipient, otherDevice, [], [EstOids.EcdhStdSha256Kdf]);
            byte[] byServer = ServerGeneratedKeyEnvelope.Protect((byte[])pkcs8.Clone(), recipient, server, [], [EstOids.EcdhStdSha256Kdf]);

            var ex = Assert.Throws<CryptographicException>(() => ServerGeneratedKeyEnvelope.Open(byOther, key, recipient, [ca], [], [server], DateTimeOffset.UtcNow));
            Assert.Contains("neither the EST server's certificate nor a configured key generator", ex.Message);
            Assert.Equal(pkcs8, ServerGeneratedKeyEnvelope.Open(byServer, key, recipient, [ca], [], [server], DateTimeOffset.UtcNow));
        }
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (X509Certificate2 Certificate, ECDiffieHellman Key) Recipient(string curve, bool withSki, byte[]? ski = null)
    {
        using ECDsa signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        ECDiffieHellman key = ECDiffieHellman.Create(ECCurve.CreateFromFriendlyName(curve));
        var issuerRequest = new CertificateRequest("CN=test issuer", signer, HashAlgorithmName.SHA256);
        issuerRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 issuer = issuerRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));
        var leafRequest = new CertificateRequest(new X500DistinguishedName("CN=recipient"), new PublicKey(key), HashAlgorithmName.SHA256);
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyAgreement, critical: true));
        if (withSki)
        {
            leafRequest.CertificateExtensions.Add(ski is null
                ? new X509SubjectKeyIdentifierExtension(new PublicKey(key), false)
                : new X509SubjectKeyIdentifierExtension(ski, false));
        }

        X509Certificate2 certificate = leafRequest.Create(issuer, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
        return (certificate, key);
    }
}
