namespace CoapEnroll.Dtls;

/// <summary>CertificateRequest certificate_types (RFC 5246 §7.4.4, RFC 8422 §5.5).</summary>
internal enum ClientCertificateType : byte
{
    RsaSign = 1,
    EcdsaSign = 64,
}
