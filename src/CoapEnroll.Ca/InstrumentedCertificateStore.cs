using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// An <see cref="ICertificateStore"/> that times every call of the store it wraps into the histogram <c>ca.store.duration</c>
/// (meter <c>CoapEnroll.Ca</c>), tagged <c>operation</c> (the method without "Async": <c>AddIssued</c>, <c>GetRequestByKey</c>, …) and,
/// when the call failed, <c>error.type</c> (the exception's type name). It knows nothing of the store behind it, so every provider
/// is measured the same way. <see cref="CertificateAuthority"/> wraps the store it is given in one; disposing this disposes the
/// wrapped store.
/// </summary>
public sealed class InstrumentedCertificateStore : ICertificateStore
{
    private readonly ICertificateStore _inner;

    public InstrumentedCertificateStore(ICertificateStore inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
    }

    /// <summary>The store whose calls are timed.</summary>
    public ICertificateStore Inner => _inner;

    /// <summary><paramref name="store"/> itself when it is instrumented already, else wrapped.</summary>
    public static InstrumentedCertificateStore Wrap(ICertificateStore store) =>
        store as InstrumentedCertificateStore ?? new InstrumentedCertificateStore(store);

    public Task<StoredRequest> AddIssuedAsync(StoredRequest request, StoredCertificate certificate, AuditEntry audit, CancellationToken cancellationToken) =>
        TimeAsync("AddIssued", Stopwatch.GetTimestamp(), _inner.AddIssuedAsync(request, certificate, audit, cancellationToken));

    public Task<StoredRequest> AddPendingAsync(StoredRequest request, AuditEntry audit, CancellationToken cancellationToken) =>
        TimeAsync("AddPending", Stopwatch.GetTimestamp(), _inner.AddPendingAsync(request, audit, cancellationToken));

    /// <inheritdoc/>
    public Task<PendingAdmission> TryAddPendingAsync(StoredRequest request, AuditEntry audit, PendingLimits limits, CancellationToken cancellationToken) =>
        TimeAsync("AddPending", Stopwatch.GetTimestamp(), _inner.TryAddPendingAsync(request, audit, limits, cancellationToken));

    public Task<StoredRequest> AddRejectedAsync(StoredRequest request, RejectionReason reason, string detail, AuditEntry audit, CancellationToken cancellationToken) =>
        TimeAsync("AddRejected", Stopwatch.GetTimestamp(), _inner.AddRejectedAsync(request, reason, detail, audit, cancellationToken));

    public Task<StoredRequest> CompletePendingAsync(long requestId, StoredCertificate certificate, AuditEntry audit, CancellationToken cancellationToken) =>
        TimeAsync("CompletePending", Stopwatch.GetTimestamp(), _inner.CompletePendingAsync(requestId, certificate, audit, cancellationToken));

    public Task<StoredRequest> RejectPendingAsync(long requestId, RejectionReason reason, string detail, AuditEntry audit, CancellationToken cancellationToken) =>
        TimeAsync("RejectPending", Stopwatch.GetTimestamp(), _inner.RejectPendingAsync(requestId, reason, detail, audit, cancellationToken));

    public Task<StoredRequest?> GetRequestAsync(long requestId, CancellationToken cancellationToken) =>
        TimeAsync("GetRequest", Stopwatch.GetTimestamp(), _inner.GetRequestAsync(requestId, cancellationToken));

    public Task<StoredRequest?> GetRequestByKeyAsync(string requestKey, CancellationToken cancellationToken) =>
        TimeAsync("GetRequestByKey", Stopwatch.GetTimestamp(), _inner.GetRequestByKeyAsync(requestKey, cancellationToken));

    public Task<IReadOnlyList<StoredRequest>> FindRequestsReplacingAsync(string serialNumber, int limit, CancellationToken cancellationToken) =>
        TimeAsync("FindRequestsReplacing", Stopwatch.GetTimestamp(), _inner.FindRequestsReplacingAsync(serialNumber, limit, cancellationToken));

    public Task<(int Total, int OfIdentity)> CountPendingRequestsAsync(string identity, CancellationToken cancellationToken) =>
        TimeAsync("CountPendingRequests", Stopwatch.GetTimestamp(), _inner.CountPendingRequestsAsync(identity, cancellationToken));

    public Task<IReadOnlyList<StoredRequest>> ListPendingRequestsAsync(int limit, CancellationToken cancellationToken) =>
        TimeAsync("ListPendingRequests", Stopwatch.GetTimestamp(), _inner.ListPendingRequestsAsync(limit, cancellationToken));

    public Task<IReadOnlyList<StoredRequest>> ListRequestsAsync(RequestStatus? status, int limit, CancellationToken cancellationToken) =>
        TimeAsync("ListRequests", Stopwatch.GetTimestamp(), _inner.ListRequestsAsync(status, limit, cancellationToken));

    public Task<StoredCertificate?> GetCertificateAsync(string serialNumber, CancellationToken cancellationToken) =>
        TimeAsync("GetCertificate", Stopwatch.GetTimestamp(), _inner.GetCertificateAsync(serialNumber, cancellationToken));

    public Task<IReadOnlyList<StoredCertificate>> FindCertificatesByRequesterAsync(string requester, int limit, CancellationToken cancellationToken) =>
        TimeAsync("FindCertificatesByRequester", Stopwatch.GetTimestamp(), _inner.FindCertificatesByRequesterAsync(requester, limit, cancellationToken));

    public Task<IReadOnlyList<StoredCertificate>> FindCertificatesBySubjectAsync(string subject, int limit, CancellationToken cancellationToken) =>
        TimeAsync("FindCertificatesBySubject", Stopwatch.GetTimestamp(), _inner.FindCertificatesBySubjectAsync(subject, limit, cancellationToken));

    public Task<StoredCertificate?> FindNameHolderAsync(X500DistinguishedName subject, string identity, CancellationToken cancellationToken) =>
        TimeAsync("FindNameHolder", Stopwatch.GetTimestamp(), _inner.FindNameHolderAsync(subject, identity, cancellationToken));

    public Task<IReadOnlyList<StoredCertificate>> ListCertificatesAsync(int limit, CancellationToken cancellationToken) =>
        TimeAsync("ListCertificates", Stopwatch.GetTimestamp(), _inner.ListCertificatesAsync(limit, cancellationToken));

    public Task<bool> SetCertificateStatusAsync(string serialNumber, CertificateStatus status, AuditEntry audit, CancellationToken cancellationToken) =>
        TimeAsync("SetCertificateStatus", Stopwatch.GetTimestamp(), _inner.SetCertificateStatusAsync(serialNumber, status, audit, cancellationToken));

    public Task<RevocationStatus> RevokeCertificateAsync(string serialHex, int reason, DateTimeOffset time, CancellationToken cancellationToken) =>
        TimeAsync("RevokeCertificate", Stopwatch.GetTimestamp(), _inner.RevokeCertificateAsync(serialHex, reason, time, cancellationToken));

    public Task<RevocationStatus> RevokeCertificateAsync(string serialHex, int reason, DateTimeOffset time, AuditEntry audit, CancellationToken cancellationToken) =>
        TimeAsync("RevokeCertificate", Stopwatch.GetTimestamp(), _inner.RevokeCertificateAsync(serialHex, reason, time, audit, cancellationToken));

    public Task<IReadOnlyList<RevokedCertificate>> ListRevokedAsync(CancellationToken cancellationToken) =>
        TimeAsync("ListRevoked", Stopwatch.GetTimestamp(), _inner.ListRevokedAsync(cancellationToken));

    public Task<long> NextCrlNumberAsync(long atLeast, CancellationToken cancellationToken) =>
        TimeAsync("NextCrlNumber", Stopwatch.GetTimestamp(), _inner.NextCrlNumberAsync(atLeast, cancellationToken));

    public Task AppendAuditAsync(AuditEntry audit, CancellationToken cancellationToken) =>
        TimeAsync("AppendAudit", Stopwatch.GetTimestamp(), _inner.AppendAuditAsync(audit, cancellationToken));

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken cancellationToken) =>
        TimeAsync("ListAudit", Stopwatch.GetTimestamp(), _inner.ListAuditAsync(limit, cancellationToken));

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    private static Task<T> TimeAsync<T>(string operation, long started, Task<T> call) => StoreTimer.TimeAsync(operation, started, call);

    private static Task TimeAsync(string operation, long started, Task call) => StoreTimer.TimeAsync(operation, started, call);
}
