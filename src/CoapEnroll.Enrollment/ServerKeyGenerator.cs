using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace CoapEnroll.Enrollment;

/// <summary>
/// Server-side key generation (RFC 9148 §4.8, RFC 7030 §4.4; CMP central key generation, RFC 9483 §4.1.6): a P-256 key derived from a server secret and the request key,
/// so the same request always yields the same key pair and a repeated request matches the certificate already issued for it.
/// </summary>
internal sealed class ServerKeyGenerator
{
    // The order n of the P-256 group (SEC 2 §2.4.2).
    private static readonly BigInteger s_order = BigInteger.Parse("0FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", System.Globalization.NumberStyles.HexNumber);
    // Unchanged since EST-coaps had it: a different label would give a request pending across an upgrade a different key.
    private static readonly byte[] s_label = Encoding.ASCII.GetBytes("CoapEnroll EST-coaps server-generated P-256 key v1");

    private readonly byte[] _secret;

    public ServerKeyGenerator(byte[]? secret)
    {
        if (secret is not null && secret.Length < 32)
        {
            throw new ArgumentException("the key generation secret must have at least 32 bytes", nameof(secret));
        }

        _secret = secret?.ToArray() ?? RandomNumberGenerator.GetBytes(32);
    }

    /// <summary>The key for <paramref name="requestKey"/>: d = HMAC-SHA256(secret, label || requestKey || counter), retried until 1 ≤ d &lt; n (FIPS 186-5 A.2.2 style rejection sampling).</summary>
    public ECDsa Generate(string requestKey)
    {
        byte[] key = Encoding.UTF8.GetBytes(requestKey);
        for (byte counter = 0; ; counter++)
        {
            byte[] input = [.. s_label, .. key, counter];
            byte[] d = HMACSHA256.HashData(_secret, input);
            var value = new BigInteger(d, isUnsigned: true, isBigEndian: true);
            if (value.IsZero || value >= s_order)
            {
                continue;
            }

            try
            {
                return ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = d });
            }
            finally
            {
                CryptographicOperations.ZeroMemory(d);
            }
        }
    }
}
