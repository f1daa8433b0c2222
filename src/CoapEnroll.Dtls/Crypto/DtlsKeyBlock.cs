using System.Security.Cryptography;

namespace CoapEnroll.Dtls;

/// <summary>
/// The key block (RFC 5246 §6.3): PRF(master, "key expansion", server_random + client_random) split into
/// client_write_MAC_key[0], server_write_MAC_key[0], client_write_key[16], server_write_key[16],
/// client_write_IV[4], server_write_IV[4] for the AEAD suites here. Dispose clears it.
/// </summary>
internal sealed class DtlsKeyBlock : IDisposable
{
    private readonly byte[] _block;

    private DtlsKeyBlock(CipherSuiteInfo suite, byte[] block)
    {
        Suite = suite;
        _block = block;
    }

    public CipherSuiteInfo Suite { get; }

    public ReadOnlySpan<byte> ClientWriteKey => _block.AsSpan(0, Suite.EncryptionKeyLength);

    public ReadOnlySpan<byte> ServerWriteKey => _block.AsSpan(Suite.EncryptionKeyLength, Suite.EncryptionKeyLength);

    public ReadOnlySpan<byte> ClientWriteIv => _block.AsSpan(2 * Suite.EncryptionKeyLength, Suite.FixedIvLength);

    public ReadOnlySpan<byte> ServerWriteIv => _block.AsSpan(2 * Suite.EncryptionKeyLength + Suite.FixedIvLength, Suite.FixedIvLength);

    /// <summary>Derives the key block. Note the seed order: server_random first (RFC 5246 §6.3).</summary>
    public static DtlsKeyBlock Derive(CipherSuiteInfo suite, ReadOnlySpan<byte> masterSecret, ReadOnlySpan<byte> clientRandom,
        ReadOnlySpan<byte> serverRandom)
    {
        ArgumentNullException.ThrowIfNull(suite);
        if (masterSecret.Length != DtlsKeySchedule.MasterSecretLength || clientRandom.Length != DtlsKeySchedule.RandomLength ||
            serverRandom.Length != DtlsKeySchedule.RandomLength)
        {
            throw new ArgumentException("Master secret must be 48 bytes and randoms 32 bytes.");
        }

        byte[] block = new byte[2 * (suite.MacKeyLength + suite.EncryptionKeyLength + suite.FixedIvLength)];
        TlsPrf.Compute(masterSecret, "key expansion"u8, serverRandom, clientRandom, block);
        return new DtlsKeyBlock(suite, block);
    }

    /// <summary>Protection for records the client writes (the server's read side).</summary>
    public DtlsRecordProtection CreateClientWriteProtection() => DtlsRecordProtection.Create(Suite, ClientWriteKey, ClientWriteIv);

    /// <summary>Protection for records the server writes (the client's read side).</summary>
    public DtlsRecordProtection CreateServerWriteProtection() => DtlsRecordProtection.Create(Suite, ServerWriteKey, ServerWriteIv);

    /// <inheritdoc/>
    public void Dispose() => CryptographicOperations.ZeroMemory(_block);
}
