namespace CoapEnroll.Ca;

/// <summary>The outcome of <see cref="CertificateAuthority.RevokeAsync"/>.</summary>
public sealed record RevocationResult
{
    /// <summary>What happened.</summary>
    public required RevocationStatus Status { get; init; }

    /// <summary>The certificate as stored after the call (with its revocation reason and time); null for <see cref="RevocationStatus.UnknownCertificate"/>.</summary>
    public StoredCertificate? Certificate { get; init; }
}
