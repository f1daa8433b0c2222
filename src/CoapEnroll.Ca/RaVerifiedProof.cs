namespace CoapEnroll.Ca;

/// <summary>
/// CRMF's raVerified (RFC 4211 section 4): a registration authority vouches that it checked the requester's proof of possession.
/// It holds whenever checked, so a front end creates it only for a requester it has authenticated as an RA.
/// </summary>
public sealed class RaVerifiedProof : ProofOfPossession
{
    /// <summary>The one instance.</summary>
    public static RaVerifiedProof Instance { get; } = new();

    private RaVerifiedProof()
    {
    }

    /// <inheritdoc/>
    public override ProofOfPossessionMethod Method => ProofOfPossessionMethod.RaVerified;

    /// <inheritdoc/>
    protected override ProofOfPossessionResult CheckCore() => ProofOfPossessionResult.Verified;
}
