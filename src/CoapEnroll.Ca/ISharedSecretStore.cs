namespace CoapEnroll.Ca;

/// <summary>
/// Shared secrets an operator adds at run time (<c>coapenroll cmp secrets</c>), beside the configured ones. Writes are one
/// transaction each and append their audit entry in it; the secret itself never goes into the audit log.
/// </summary>
public interface ISharedSecretStore
{
    /// <summary>Adds <paramref name="secret"/> (its <see cref="StoredSharedSecret.CreatedAt"/> is the store's clock); false, and nothing written, when the reference exists.</summary>
    Task<bool> TryAddSharedSecretAsync(StoredSharedSecret secret, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>The secret with this reference (case-sensitive), or null.</summary>
    Task<StoredSharedSecret?> GetSharedSecretAsync(string reference, CancellationToken cancellationToken);

    /// <summary>All stored secrets by reference, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredSharedSecret>> ListSharedSecretsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Removes the secret; false when there is none.</summary>
    Task<bool> RemoveSharedSecretAsync(string reference, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>
    /// Marks an unused one-time secret consumed by <paramref name="consumer"/>, atomically: of two enrollments racing with the same
    /// code only one gets true. False when it is not one-time, already consumed or gone.
    /// </summary>
    Task<bool> TryConsumeSharedSecretAsync(string reference, string consumer, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>Gives a one-time secret back when the enrollment that consumed it (<paramref name="consumer"/>) obtained nothing.</summary>
    Task ReleaseSharedSecretAsync(string reference, string consumer, CancellationToken cancellationToken);
}
