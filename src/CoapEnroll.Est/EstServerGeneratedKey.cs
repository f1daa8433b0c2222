namespace CoapEnroll.Est;

/// <summary>
/// The key part of a server-side key generation answer (RFC 7030 §4.4.2): a PKCS#8 PrivateKeyInfo in the clear, or, when
/// <see cref="Encrypted"/>, the SignedData-in-EnvelopedData of RFC 7030 §4.4.2 / RFC 9148 §4.8. Each transport names it its way
/// (application/pkcs8 or application/pkcs7-mime; smime-type=server-generated-key over HTTPS, Content-Format 284 or 280 over CoAP).
/// </summary>
internal readonly record struct EstServerGeneratedKey(bool Encrypted, byte[] Data);
