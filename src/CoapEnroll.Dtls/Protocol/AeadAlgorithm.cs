namespace CoapEnroll.Dtls;

/// <summary>The record AEAD a cipher suite uses.</summary>
internal enum AeadAlgorithm
{
    /// <summary>AES-CCM (RFC 6655, RFC 7251); the tag is 8 or 16 bytes.</summary>
    AesCcm,
    /// <summary>AES-GCM (RFC 5288); the tag is 16 bytes.</summary>
    AesGcm,
}
