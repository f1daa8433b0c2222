using System.Buffers.Binary;
using System.Security.Cryptography;

namespace CoapEnroll.Pkix;

/// <summary>
/// The AES key wrap of RFC 3394 §2.2 (id-aes128-wrap, id-aes192-wrap, id-aes256-wrap, RFC 3565), which CMS key agreement uses
/// to carry the content-encryption key (RFC 5753 §3.1). The platform exposes AES but not this mode (its key wrap is the padded
/// variant of RFC 5649, whose initial value differs), so the six rounds run here over single-block AES-ECB.
/// </summary>
public static class AesKeyWrap
{
    private const ulong DefaultInitialValue = 0xA6A6A6A6A6A6A6A6;

    /// <summary>Wraps <paramref name="keyData"/> (a multiple of 8 octets, at least 16) under <paramref name="kek"/> (16, 24 or 32 octets).</summary>
    /// <exception cref="ArgumentException">A length is not one of those.</exception>
    public static byte[] Wrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> keyData)
    {
        if (keyData.Length < 16 || keyData.Length % 8 != 0)
        {
            throw new ArgumentException("key data for AES key wrap must be a multiple of 8 octets and at least 16", nameof(keyData));
        }

        int n = keyData.Length / 8;
        byte[] output = new byte[keyData.Length + 8];
        keyData.CopyTo(output.AsSpan(8));
        ulong a = DefaultInitialValue;
        Span<byte> block = stackalloc byte[16];
        using Aes aes = CreateAes(kek);
        for (int j = 0; j <= 5; j++)
        {
            for (int i = 1; i <= n; i++)
            {
                Span<byte> r = output.AsSpan(8 * i, 8);
                BinaryPrimitives.WriteUInt64BigEndian(block, a);
                r.CopyTo(block[8..]);
                aes.EncryptEcb(block, block, PaddingMode.None);
                a = BinaryPrimitives.ReadUInt64BigEndian(block) ^ (ulong)(n * j + i);
                block[8..].CopyTo(r);
            }
        }

        BinaryPrimitives.WriteUInt64BigEndian(output, a);
        CryptographicOperations.ZeroMemory(block);
        return output;
    }

    /// <summary>Unwraps <paramref name="wrapped"/>; a wrong key or altered input fails the integrity check with <see cref="CryptographicException"/>.</summary>
    public static byte[] Unwrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> wrapped)
    {
        if (wrapped.Length < 24 || wrapped.Length % 8 != 0)
        {
            throw new CryptographicException($"a wrapped key is a multiple of 8 octets and at least 24, not {wrapped.Length}");
        }

        int n = wrapped.Length / 8 - 1;
        byte[] output = wrapped[8..].ToArray();
        ulong a = BinaryPrimitives.ReadUInt64BigEndian(wrapped);
        Span<byte> block = stackalloc byte[16];
        using Aes aes = CreateAes(kek);
        for (int j = 5; j >= 0; j--)
        {
            for (int i = n; i >= 1; i--)
            {
                Span<byte> r = output.AsSpan(8 * (i - 1), 8);
                BinaryPrimitives.WriteUInt64BigEndian(block, a ^ (ulong)(n * j + i));
                r.CopyTo(block[8..]);
                aes.DecryptEcb(block, block, PaddingMode.None);
                a = BinaryPrimitives.ReadUInt64BigEndian(block);
                block[8..].CopyTo(r);
            }
        }

        CryptographicOperations.ZeroMemory(block);
        Span<byte> check = stackalloc byte[8];
        Span<byte> expected = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(check, a);
        BinaryPrimitives.WriteUInt64BigEndian(expected, DefaultInitialValue);
        if (!CryptographicOperations.FixedTimeEquals(check, expected))
        {
            CryptographicOperations.ZeroMemory(output);
            throw new CryptographicException("the wrapped key fails the AES key wrap integrity check (wrong key-encryption key or altered data)");
        }

        return output;
    }

    private static Aes CreateAes(ReadOnlySpan<byte> kek)
    {
        if (kek.Length is not (16 or 24 or 32))
        {
            throw new ArgumentException($"an AES key-encryption key has 16, 24 or 32 octets, not {kek.Length}", nameof(kek));
        }

        Aes aes = Aes.Create();
        aes.SetKey(kek);
        return aes;
    }
}
