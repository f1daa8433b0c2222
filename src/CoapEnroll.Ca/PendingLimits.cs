namespace CoapEnroll.Ca;

/// <summary>
/// The bounds on requests waiting for approval that <see cref="ICertificateStore.TryAddPendingAsync"/> applies in the same transaction as
/// the insert: <paramref name="MaxTotal"/> for all requesters together, <paramref name="MaxPerIdentity"/> for one identity.
/// </summary>
public readonly record struct PendingLimits(int MaxTotal, int MaxPerIdentity)
{
    /// <summary>No bound.</summary>
    public static PendingLimits Unbounded => new(int.MaxValue, int.MaxValue);
}
