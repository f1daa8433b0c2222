namespace CoapEnroll.Cmp;

/// <summary>The outcome of verifying a PKIMessage's protection.</summary>
public enum CmpProtectionStatus
{
    /// <summary>The protection verified.</summary>
    Valid,

    /// <summary>The message carries no protectionAlg or no protection value.</summary>
    NotProtected,

    /// <summary>The MAC or signature does not match (wrong secret or key, or a changed message).</summary>
    Invalid,

    /// <summary>The protection algorithm, or one of its component algorithms, is not supported or not allowed.</summary>
    UnsupportedAlgorithm,

    /// <summary>The parameters are outside the policy (too few or too many iterations, too short a salt).</summary>
    WeakParameters,

    /// <summary>The algorithm parameters are not valid DER of the expected structure.</summary>
    Malformed,
}
