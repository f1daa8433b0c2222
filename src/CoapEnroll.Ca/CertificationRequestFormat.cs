namespace CoapEnroll.Ca;

/// <summary>The encoding a <see cref="CertificationRequest"/> arrived in.</summary>
public enum CertificationRequestFormat
{
    /// <summary>A PKCS#10 CertificationRequest (RFC 2986), as EST and CMP's p10cr carry it.</summary>
    Pkcs10,

    /// <summary>
    /// A CRMF CertRequest (RFC 4211 section 5) out of a CMP ir, cr or kur CertReqMsg: <see cref="CertificationRequest.Encoded"/> is the
    /// DER of the CertRequest, what a POPOSigningKey signature covers.
    /// </summary>
    Crmf,
}
