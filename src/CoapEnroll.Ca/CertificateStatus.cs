namespace CoapEnroll.Ca;

/// <summary>Life-cycle state of an issued certificate as recorded in the store.</summary>
public enum CertificateStatus
{
    /// <summary>Issued and current.</summary>
    Active,

    /// <summary>Revoked (by an operator or its holder); the reason and time are <see cref="StoredCertificate.RevocationReason"/> and <see cref="StoredCertificate.RevokedAt"/>.</summary>
    Revoked,

    /// <summary>Replaced by a later certificate through re-enrollment (RFC 7030 section 4.2.2).</summary>
    Superseded,
}
