using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// Parameters of one supported cipher suite: the record AEAD (RFC 5246 §6.2.3.3), the key block layout
/// (RFC 5246 §6.3, with mac_key_length 0 for AEAD) and the PRF hash (SHA-256 for all four).
/// </summary>
internal sealed class CipherSuiteInfo
{
    private static readonly CipherSuiteInfo[] s_all =
    [
        new(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, KeyExchangeKind.EcdheEcdsa, AeadAlgorithm.AesCcm, 8),
        new(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM, KeyExchangeKind.EcdheEcdsa, AeadAlgorithm.AesCcm, 16),
        new(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, KeyExchangeKind.EcdheEcdsa, AeadAlgorithm.AesGcm, 16),
        new(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8, KeyExchangeKind.Psk, AeadAlgorithm.AesCcm, 8),
    ];

    private CipherSuiteInfo(CipherSuite suite, KeyExchangeKind keyExchange, AeadAlgorithm aead, int tagLength)
    {
        Suite = suite;
        KeyExchange = keyExchange;
        Aead = aead;
        TagLength = tagLength;
    }

    /// <summary>All supported suites, in our order of preference (CCM_8 first, RFC 7925 §4.4).</summary>
    public static IReadOnlyList<CipherSuiteInfo> All => s_all;

    public CipherSuite Suite { get; }

    public KeyExchangeKind KeyExchange { get; }

    public AeadAlgorithm Aead { get; }

    /// <summary>enc_key_length: AES-128.</summary>
    public int EncryptionKeyLength => 16;

    /// <summary>fixed_iv_length: the 4-byte implicit nonce salt (RFC 5288 §3, RFC 6655 §3).</summary>
    public int FixedIvLength => 4;

    /// <summary>record_iv_length: the 8-byte explicit nonce carried in each record.</summary>
    public int RecordIvLength => 8;

    /// <summary>AEAD tag length: 8 for CCM_8, 16 for CCM and GCM.</summary>
    public int TagLength { get; }

    /// <summary>mac_key_length: 0 for AEAD suites.</summary>
    public int MacKeyLength => 0;

    /// <summary>The PRF hash (RFC 5246 §5; the suites here all use SHA-256).</summary>
    public HashAlgorithmName PrfHash => HashAlgorithmName.SHA256;

    /// <summary>Bytes a protected record adds to its plaintext: explicit nonce plus tag.</summary>
    public int RecordExpansion => RecordIvLength + TagLength;

    /// <summary>Looks up a suite; false for anything this implementation does not support.</summary>
    public static bool TryGet(CipherSuite suite, [NotNullWhen(true)] out CipherSuiteInfo? info)
    {
        foreach (CipherSuiteInfo candidate in s_all)
        {
            if (candidate.Suite == suite)
            {
                info = candidate;
                return true;
            }
        }

        info = null;
        return false;
    }

    /// <summary>Looks up a supported suite and throws for anything else.</summary>
    public static CipherSuiteInfo Get(CipherSuite suite) =>
        TryGet(suite, out CipherSuiteInfo? info) ? info : throw new ArgumentOutOfRangeException(nameof(suite), suite, "Unsupported cipher suite.");

    /// <inheritdoc/>
    public override string ToString() => Suite.ToString();
}
