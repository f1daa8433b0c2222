using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix.Tests;

/// <summary>CMS KeyAgreeRecipientInfo (RFC 5753): ephemeral-static ECDH, X9.63 KDF, AES key wrap; against openssl cms too.</summary>
public sealed class CmsKeyAgreementTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coapenroll-kari-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("nistP256", PkixOids.EcdhStdSha256Kdf, PkixOids.Aes256Wrap, PkixOids.Aes256Cbc)]
    [InlineData("nistP256", PkixOids.EcdhStdSha1Kdf, PkixOids.Aes128Wrap, PkixOids.Aes128Cbc)]
    [InlineData("nistP384", PkixOids.EcdhStdSha384Kdf, PkixOids.Aes192Wrap, PkixOids.Aes256Cbc)]
    [InlineData("nistP521", PkixOids.EcdhCofactorSha512Kdf, PkixOids.Aes256Wrap, PkixOids.Aes128Cbc)]
    public void Key_agreement_round_trips_and_only_the_recipient_opens_it(string curve, string scheme, string wrap, string content)
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = TestCertificates.EcRecipient(curve, withSki: true);
        using (key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(300);
            byte[] envelope = CmsKeyAgreement.Encrypt(plaintext, "1.2.840.113549.1.7.1", recipient, new(scheme, wrap, content));

            Assert.Equal(plaintext, CmsKeyAgreement.Decrypt(envelope, key, recipient, out string type));
            Assert.Equal("1.2.840.113549.1.7.1", type);

            // Another holder of a certificate with the same identifiers but a different key fails the key wrap check.
            (X509Certificate2 other, ECDiffieHellman otherKey) = TestCertificates.EcRecipient(curve, withSki: true, ski: recipient.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifierBytes.ToArray());
            using (otherKey)
            {
                Assert.Throws<CryptographicException>(() => CmsKeyAgreement.Decrypt(envelope, otherKey, other, out _));
            }

            // A certificate the envelope does not name is told so.
            (X509Certificate2 stranger, ECDiffieHellman strangerKey) = TestCertificates.EcRecipient(curve, withSki: true);
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
        (X509Certificate2 recipient, ECDiffieHellman key) = TestCertificates.EcRecipient("nistP256", withSki: false);
        using (key)
        {
            byte[] envelope = CmsKeyAgreement.Encrypt([1, 2, 3], "1.2.840.113549.1.7.1", recipient, new(PkixOids.EcdhStdSha256Kdf, PkixOids.Aes128Wrap, PkixOids.Aes256Cbc));
            Assert.Equal(new byte[] { 1, 2, 3 }, CmsKeyAgreement.Decrypt(envelope, key, recipient, out _));
        }
    }

    [Fact]
    public void Every_altered_octet_of_the_envelope_is_refused_or_leaves_the_content_intact()
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = TestCertificates.EcRecipient("nistP256", withSki: true);
        using (key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(64);
            byte[] envelope = CmsKeyAgreement.Encrypt(plaintext, "1.2.840.113549.1.7.1", recipient, new(PkixOids.EcdhStdSha256Kdf, PkixOids.Aes256Wrap, PkixOids.Aes256Cbc));
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
        (X509Certificate2 recipient, ECDiffieHellman key) = TestCertificates.EcRecipient("nistP256", withSki: true);
        using (key)
        {
            byte[] envelope = CmsKeyAgreement.Encrypt([1, 2, 3], "1.2.840.113549.1.7.1", recipient, new(PkixOids.EcdhStdSha256Kdf, PkixOids.Aes256Wrap, PkixOids.Aes256Cbc));
            // The ephemeral point follows the id-ecPublicKey OID: BIT STRING 03 42 00 04 X Y; bend its last Y octet.
            int at = envelope.AsSpan().IndexOf(new byte[] { 0x03, 0x42, 0x00, 0x04 });
            Assert.True(at > 0);
            envelope[at + 4 + 63] ^= 0x01;
            var ex = Assert.Throws<CryptographicException>(() => CmsKeyAgreement.Decrypt(envelope, key, recipient, out _));
            Assert.Contains("point", ex.Message);
        }
    }

    [Fact]
    public async Task OpenSsl_cms_decrypts_our_envelope()
    {
        (X509Certificate2 recipient, ECDiffieHellman key) = TestCertificates.EcRecipient("nistP256", withSki: true);
        using (key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(200);
            byte[] envelope = CmsKeyAgreement.Encrypt(plaintext, "1.2.840.113549.1.7.1", recipient, new(PkixOids.EcdhStdSha256Kdf, PkixOids.Aes256Wrap, PkixOids.Aes256Cbc));
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
        (X509Certificate2 recipient, ECDiffieHellman key) = TestCertificates.EcRecipient("nistP256", withSki: true);
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

    [Fact]
    public async Task A_key_wrap_with_null_parameters_enters_the_kdf_as_sent()
    {
        // RFC 5753 §7.2: ECC-CMS-SharedInfo carries the KeyWrapAlgorithm as in the kari; some peers write NULL parameters.
        (X509Certificate2 recipient, ECDiffieHellman key) = TestCertificates.EcRecipient("nistP256", withSki: true);
        using (key)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(40);
            byte[] envelope = CmsKeyAgreement.Encrypt(plaintext, "1.2.840.113549.1.7.1", recipient,
                new(PkixOids.EcdhStdSha256Kdf, PkixOids.Aes256Wrap, PkixOids.Aes256Cbc), nullWrapParameters: true);

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
        (X509Certificate2 p384, ECDiffieHellman p384Key) = TestCertificates.EcRecipient("nistP384", withSki: true);
        (X509Certificate2 p256, ECDiffieHellman p256Key) = TestCertificates.EcRecipient("nistP256", withSki: true);
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
        (X509Certificate2 recipient, ECDiffieHellman key) = TestCertificates.EcRecipient("brainpoolP256r1", withSki: true);
        using (key)
        {
            var ex = Assert.Throws<ArgumentException>(() => CmsKeyAgreement.Encrypt([1], "1.2.840.113549.1.7.1", recipient, new(PkixOids.EcdhStdSha256Kdf, PkixOids.Aes256Wrap, PkixOids.Aes256Cbc)));
            Assert.Contains("P-256, P-384 or P-521", ex.Message);
        }
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }
}
