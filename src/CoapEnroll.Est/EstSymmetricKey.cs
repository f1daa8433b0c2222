namespace CoapEnroll.Est;

/// <summary>
/// A symmetric key shared with the EST server out of band, for server-generated keys encrypted to it (RFC 7030 §4.4.1.1:
/// the CSR names it with DecryptKeyIdentifier; the answer is a KEKRecipientInfo EnvelopedData, Content-Format 280).
/// </summary>
/// <param name="Identifier">The key identifier the server knows the key by.</param>
/// <param name="Key">The AES key-encryption key: 16, 24 or 32 octets.</param>
public sealed record EstSymmetricKey(ReadOnlyMemory<byte> Identifier, ReadOnlyMemory<byte> Key);
