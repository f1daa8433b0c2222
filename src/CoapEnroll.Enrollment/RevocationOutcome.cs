namespace CoapEnroll.Enrollment;

/// <summary>The answer to a requester's revocation request; front ends translate it (e.g. CMP rp PKIStatusInfo).</summary>
public sealed record RevocationOutcome
{
    /// <summary>What happened.</summary>
    public required RevocationOutcomeStatus Status { get; init; }

    /// <summary>Text for the requester: why it was refused, or when and why the certificate had been revoked.</summary>
    public string? Detail { get; init; }
}
