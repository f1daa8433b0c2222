namespace CoapEnroll.Ca;

/// <summary>Which uniqueness or state rule a store write ran into.</summary>
public enum StoreConflict
{
    /// <summary>A certificate with the same serial number exists (RFC 5280 section 4.1.2.2 requires uniqueness per CA).</summary>
    SerialNumber,

    /// <summary>A request with the same request key exists.</summary>
    RequestKey,

    /// <summary>The request is no longer pending (approved or rejected meanwhile) or does not exist.</summary>
    RequestState,

    /// <summary>
    /// An active, unexpired certificate with the same subject (compared by <see cref="DistinguishedNames.Key"/>) belongs to another
    /// identity: one name, one holder.
    /// </summary>
    SubjectHeld,
}
