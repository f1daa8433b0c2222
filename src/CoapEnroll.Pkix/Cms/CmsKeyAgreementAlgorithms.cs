namespace CoapEnroll.Pkix;

/// <summary>The algorithms of a KeyAgreeRecipientInfo (RFC 5753): the ECDH scheme with its KDF, the AES key wrap and the content encryption.</summary>
/// <param name="KeyAgreement">An ephemeral-static ECDH scheme, e.g. <see cref="PkixOids.EcdhStdSha256Kdf"/>.</param>
/// <param name="KeyWrap">An AES key wrap: <see cref="PkixOids.Aes128Wrap"/>, <see cref="PkixOids.Aes192Wrap"/> or <see cref="PkixOids.Aes256Wrap"/>.</param>
/// <param name="ContentEncryption">The content encryption: <see cref="PkixOids.Aes128Cbc"/> or <see cref="PkixOids.Aes256Cbc"/>.</param>
public readonly record struct CmsKeyAgreementAlgorithms(string KeyAgreement, string KeyWrap, string ContentEncryption);
