using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// The TLS 1.2 PRF with SHA-256 (RFC 5246 §5): PRF(secret, label, seed) = P_SHA256(secret, label + seed),
/// A(0) = label + seed, A(i) = HMAC(secret, A(i-1)), output = HMAC(secret, A(1) + label + seed) + ...
/// Built on <see cref="IncrementalHash"/> HMAC; intermediate values are cleared. Only SHA-256: every
/// suite here uses it (SHA-384 suites are out of scope).
/// </summary>
internal static class TlsPrf
{
    private const int HashLength = 32;

    /// <summary>Fills <paramref name="output"/> with PRF(secret, label, seed). <paramref name="label"/> is ASCII without a terminator.</summary>
    public static void Compute(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> label, ReadOnlySpan<byte> seed, Span<byte> output)
    {
        using IncrementalHash hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret);
        Span<byte> a = stackalloc byte[HashLength];
        Span<byte> block = stackalloc byte[HashLength];
        try
        {
            // A(1) = HMAC(secret, label + seed)
            hmac.AppendData(label);
            hmac.AppendData(seed);
            hmac.GetHashAndReset(a);
            int written = 0;
            while (written < output.Length)
            {
                hmac.AppendData(a);
                hmac.AppendData(label);
                hmac.AppendData(seed);
                hmac.GetHashAndReset(block);
                int n = Math.Min(HashLength, output.Length - written);
                block[..n].CopyTo(output[written..]);
                written += n;
                if (written < output.Length)
                {
                    hmac.AppendData(a);
                    hmac.GetHashAndReset(a);
                }
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(a);
            CryptographicOperations.ZeroMemory(block);
        }
    }

    /// <summary>PRF with a seed given in two parts (seed1 + seed2), e.g. the two hello randoms.</summary>
    public static void Compute(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> label, ReadOnlySpan<byte> seed1, ReadOnlySpan<byte> seed2,
        Span<byte> output)
    {
        byte[]? rented = null;
        int length = seed1.Length + seed2.Length;
        Span<byte> seed = length <= 256 ? stackalloc byte[256] : (rented = new byte[length]);
        seed = seed[..length];
        seed1.CopyTo(seed);
        seed2.CopyTo(seed[seed1.Length..]);
        Compute(secret, label, seed, output);
        if (rented is not null)
        {
            CryptographicOperations.ZeroMemory(rented);
        }
    }
}
