namespace CoapEnroll.Ca;

/// <summary>The encoding a <see cref="CertificationRequest"/> arrived in.</summary>
public enum CertificationRequestFormat
{
    /// <summary>A PKCS#10 CertificationRequest (RFC 2986), as EST and CMP's p10cr carry it.</summary>
    Pkcs10,
}
