using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix.Tests;

/// <summary>CMS KEKRecipientInfo (RFC 5652 §6.2.3) with an AES key wrap; against openssl cms too.</summary>
public sealed class CmsKeyEncryptionKeyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("coapenroll-kekri-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(16, PkixOids.Aes128Cbc)]
    [InlineData(24, PkixOids.Aes256Cbc)]
    [InlineData(32, PkixOids.Aes256Cbc)]
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
        await File.WriteAllBytesAsync(ours, CmsKeyEncryptionKey.Encrypt(plaintext, "1.2.840.113549.1.7.1", id, kek, PkixOids.Aes256Cbc));
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
}
