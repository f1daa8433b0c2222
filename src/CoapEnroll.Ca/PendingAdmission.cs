namespace CoapEnroll.Ca;

/// <summary>
/// What <see cref="ICertificateStore.TryAddPendingAsync"/> did: stored the request (<see cref="Stored"/>), or refused it because the
/// identity's or the global bound was reached (<see cref="IdentityLimitReached"/>, <see cref="TotalLimitReached"/>), with the number
/// of pending requests it counted before the insert (<see cref="PendingBefore"/>).
/// </summary>
public readonly record struct PendingAdmission(StoredRequest? Stored, bool IdentityLimitReached, bool TotalLimitReached, int PendingBefore);
