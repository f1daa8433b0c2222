namespace CoapEnroll.Ca;

/// <summary>
/// Persistent record of requests, issued certificates and the audit log. Every write is one transaction; a write that would break
/// a uniqueness or state rule throws <see cref="CertificateStoreConflictException"/> and writes nothing. One such rule: an active
/// certificate is not written while an active, unexpired certificate with the same subject belongs to another identity
/// (<see cref="StoreConflict.SubjectHeld"/>). Implementations must be
/// safe for concurrent use. Timestamps are UTC; serial numbers are upper-case hex.
/// </summary>
public interface ICertificateStore : IAsyncDisposable
{
    /// <summary>Stores a new request already decided as issued together with its certificate, marks the replaced certificate superseded, and appends the audit entry.</summary>
    /// <returns>The stored request (with id) .</returns>
    Task<StoredRequest> AddIssuedAsync(StoredRequest request, StoredCertificate certificate, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>Stores a new pending request and appends the audit entry.</summary>
    Task<StoredRequest> AddPendingAsync(StoredRequest request, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a new pending request and appends the audit entry unless <paramref name="limits"/> are reached: the pending requests
    /// are counted in the same transaction as the insert, so that writers on several nodes of one database cannot pass a bound
    /// together. When a bound is reached nothing is written.
    /// </summary>
    Task<PendingAdmission> TryAddPendingAsync(StoredRequest request, AuditEntry audit, PendingLimits limits, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a new request refused on arrival (by the CA's policy or the protocol front-end) as rejected with its reason, and appends
    /// the audit entry. The row is stored without a request key (whatever <paramref name="request"/> carries): a refusal depends on
    /// the configuration of the moment, so a later identical request must be judged afresh rather than answered from the store.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reason"/> is <see cref="RejectionReason.None"/>.</exception>
    Task<StoredRequest> AddRejectedAsync(StoredRequest request, RejectionReason reason, string detail, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>Moves a pending request to issued with its certificate (and supersedes the replaced one); conflict <see cref="StoreConflict.RequestState"/> if it is not pending.</summary>
    Task<StoredRequest> CompletePendingAsync(long requestId, StoredCertificate certificate, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>Moves a pending request to rejected; conflict <see cref="StoreConflict.RequestState"/> if it is not pending.</summary>
    Task<StoredRequest> RejectPendingAsync(long requestId, RejectionReason reason, string detail, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>The request with this id, or null.</summary>
    Task<StoredRequest?> GetRequestAsync(long requestId, CancellationToken cancellationToken);

    /// <summary>The request with this request key, or null.</summary>
    Task<StoredRequest?> GetRequestByKeyAsync(string requestKey, CancellationToken cancellationToken);

    /// <summary>
    /// The issued requests that replaced the certificate with this serial (hex, case-insensitive): the re-enrollments that superseded
    /// it, oldest first, at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<StoredRequest>> FindRequestsReplacingAsync(string serialNumber, int limit, CancellationToken cancellationToken);

    /// <summary>How many requests are pending, in all and of <paramref name="identity"/>.</summary>
    Task<(int Total, int OfIdentity)> CountPendingRequestsAsync(string identity, CancellationToken cancellationToken);

    /// <summary>Pending requests, oldest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredRequest>> ListPendingRequestsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Requests with this status (all when null), newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredRequest>> ListRequestsAsync(RequestStatus? status, int limit, CancellationToken cancellationToken);

    /// <summary>The certificate with this serial (hex, case-insensitive), or null.</summary>
    Task<StoredCertificate?> GetCertificateAsync(string serialNumber, CancellationToken cancellationToken);

    /// <summary>Certificates requested by <paramref name="requester"/>, newest first.</summary>
    Task<IReadOnlyList<StoredCertificate>> FindCertificatesByRequesterAsync(string requester, int limit, CancellationToken cancellationToken);

    /// <summary>Certificates with exactly this subject DN, newest first.</summary>
    Task<IReadOnlyList<StoredCertificate>> FindCertificatesBySubjectAsync(string subject, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// An active, unexpired certificate whose subject is the same name as <paramref name="subject"/> (compared by
    /// <see cref="DistinguishedNames.Key"/>) and whose identity is not <paramref name="identity"/>, or null: the holder that keeps
    /// <paramref name="identity"/> from obtaining the name.
    /// </summary>
    Task<StoredCertificate?> FindNameHolderAsync(System.Security.Cryptography.X509Certificates.X500DistinguishedName subject, string identity, CancellationToken cancellationToken);

    /// <summary>All certificates, newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredCertificate>> ListCertificatesAsync(int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a certificate's status (e.g. revoked, superseded) and appends the audit entry; false if no such certificate, or if
    /// the certificate is revoked and <paramref name="status"/> is not: revocation is final, a revoked certificate never returns
    /// to active or superseded and never leaves the CRLs. Revoked this way, a certificate is revoked for reason 0 (unspecified)
    /// now, unless it was revoked before. Revocation proper is <see cref="RevokeCertificateAsync(string, int, DateTimeOffset, AuditEntry, CancellationToken)"/>.
    /// </summary>
    Task<bool> SetCertificateStatusAsync(string serialNumber, CertificateStatus status, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>
    /// Revokes the certificate with this serial (hex, case-insensitive) for RFC 5280 CRLReason <paramref name="reason"/> at
    /// <paramref name="time"/>, whatever its status (an active, superseded or expired certificate may be revoked). Revocation is
    /// final: a certificate revoked before keeps its first reason and time.
    /// </summary>
    /// <returns><see cref="RevocationStatus.Revoked"/> when this call revoked it, <see cref="RevocationStatus.AlreadyRevoked"/> or <see cref="RevocationStatus.UnknownCertificate"/> when nothing changed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="reason"/> is not valid (<see cref="RevocationReasons.IsValid"/>).</exception>
    Task<RevocationStatus> RevokeCertificateAsync(string serialHex, int reason, DateTimeOffset time, CancellationToken cancellationToken);

    /// <summary>As <see cref="RevokeCertificateAsync(string, int, DateTimeOffset, CancellationToken)"/>, appending <paramref name="audit"/> in the same transaction when the certificate is revoked.</summary>
    Task<RevocationStatus> RevokeCertificateAsync(string serialHex, int reason, DateTimeOffset time, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>Every revoked certificate (expired ones included), by serial.</summary>
    Task<IReadOnlyList<RevokedCertificate>> ListRevokedAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The next CRL number (RFC 5280 section 5.2.3), persisted, across processes: one more than the last, or <paramref name="atLeast"/>
    /// when that is more (1 first with 0).
    /// </summary>
    Task<long> NextCrlNumberAsync(long atLeast, CancellationToken cancellationToken);

    /// <summary>Appends an audit entry on its own.</summary>
    Task AppendAuditAsync(AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>The newest audit entries, newest first.</summary>
    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken cancellationToken);
}
