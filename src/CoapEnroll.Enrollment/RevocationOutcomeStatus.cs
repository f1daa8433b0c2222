namespace CoapEnroll.Enrollment;

/// <summary>What <see cref="EnrollmentService.RevokeAsync"/> did.</summary>
public enum RevocationOutcomeStatus
{
    /// <summary>The certificate is revoked now.</summary>
    Revoked,

    /// <summary>The certificate had been revoked before (its first reason and time stand).</summary>
    AlreadyRevoked,

    /// <summary>
    /// Not done: the requester may not revoke this certificate, or the request is malformed (serial number, reason). An unknown
    /// serial number is refused the same way as another's certificate, so that a requester learns nothing about certificates that
    /// are not its own.
    /// </summary>
    Refused,

    /// <summary>The certificate the requester was authorized to revoke is not in the store (only if it disappeared meanwhile).</summary>
    Unknown,
}
