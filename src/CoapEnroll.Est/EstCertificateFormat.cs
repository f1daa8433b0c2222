namespace CoapEnroll.Est;

/// <summary>The certificate representation a client asks for with the Accept option (RFC 9148 §4.3).</summary>
public enum EstCertificateFormat
{
    /// <summary>application/pkcs7-mime; smime-type=certs-only (281), the default a server MUST support.</summary>
    CertsOnly = 281,

    /// <summary>application/pkix-cert (287): one DER certificate.</summary>
    PkixCert = 287,
}
