namespace CoapEnroll.Cmp;

/// <summary>What <see cref="CmpClient.RevokeAsync"/> achieved.</summary>
public enum CmpRevocationStatus
{
    /// <summary>The server accepted the rr: it revoked the certificate now.</summary>
    Revoked,

    /// <summary>
    /// The server refused the rr because the certificate is revoked already (RFC 9483 §4.2: an rp with status rejection and failInfo
    /// certRevoked, protection verified): typically an rr repeated after its answer was lost. The revocation holds, with the
    /// reason and time of the first one.
    /// </summary>
    AlreadyRevoked,
}
