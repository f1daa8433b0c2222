namespace CoapEnroll.Ca;

/// <summary>Life-cycle state of an issued certificate as recorded in the store.</summary>
public enum CertificateStatus
{
    /// <summary>Issued and current.</summary>
    Active,

    /// <summary>Revoked by an operator (RFC 5280 section 5.3.1 reasons are not tracked yet).</summary>
    Revoked,

    /// <summary>Replaced by a later certificate through re-enrollment (RFC 7030 section 4.2.2).</summary>
    Superseded,
}
