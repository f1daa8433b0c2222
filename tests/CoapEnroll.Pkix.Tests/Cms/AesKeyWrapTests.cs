using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix.Tests;

/// <summary>The RFC 3394 AES key wrap.</summary>
public sealed class AesKeyWrapTests
{
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
}
