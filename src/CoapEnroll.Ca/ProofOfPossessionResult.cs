namespace CoapEnroll.Ca;

/// <summary>
/// What checking a <see cref="ProofOfPossession"/> found: it holds, or why not. A proof can fail for more than a wrong signature:
/// its algorithm or its key may be one this CA does not handle, and the requester is told which.
/// </summary>
public sealed class ProofOfPossessionResult
{
    private ProofOfPossessionResult(RejectionReason reason, string detail)
    {
        Reason = reason;
        Detail = detail;
    }

    /// <summary>The proof holds.</summary>
    public static ProofOfPossessionResult Verified { get; } = new(RejectionReason.None, "the proof of possession verifies");

    /// <summary>True when the proof holds for the request's public key.</summary>
    public bool IsVerified => Reason == RejectionReason.None;

    /// <summary>
    /// Why it does not hold: <see cref="RejectionReason.BadSignature"/> (checked, and wrong), <see cref="RejectionReason.UnsupportedAlgorithm"/>
    /// (the signature algorithm or its parameters), <see cref="RejectionReason.UnsupportedKeyType"/>, <see cref="RejectionReason.KeyNotAllowed"/>
    /// or <see cref="RejectionReason.MalformedRequest"/> (the key cannot be used to check it). <see cref="RejectionReason.None"/> when it holds.
    /// </summary>
    public RejectionReason Reason { get; }

    /// <summary>Human-readable text, safe to show to the requester.</summary>
    public string Detail { get; }

    /// <summary>A proof that does not hold.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reason"/> is <see cref="RejectionReason.None"/>.</exception>
    public static ProofOfPossessionResult Refused(RejectionReason reason, string detail)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(detail);
        if (reason == RejectionReason.None)
        {
            throw new ArgumentOutOfRangeException(nameof(reason), reason, "a refusal needs a reason");
        }

        return new ProofOfPossessionResult(reason, detail);
    }
}
