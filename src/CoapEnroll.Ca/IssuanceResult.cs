using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>The outcome of <see cref="CertificateAuthority.IssueAsync"/>, <see cref="CertificateAuthority.ApproveAsync"/> or <see cref="CertificateAuthority.RejectAsync"/>.</summary>
public sealed class IssuanceResult
{
    private IssuanceResult(IssuanceStatus status)
    {
        Status = status;
    }

    /// <summary>Issued, pending or rejected.</summary>
    public IssuanceStatus Status { get; private init; }

    /// <summary>The issued certificate (already committed to the store) when <see cref="Status"/> is Issued: its DER and fields.</summary>
    public IssuedCertificate? IssuedCertificate { get; private init; }

    /// <summary>
    /// <see cref="IssuedCertificate"/> decoded (on first use) when <see cref="Status"/> is Issued. Front ends that only send the
    /// certificate read <see cref="IssuedCertificate"/> instead.
    /// </summary>
    public X509Certificate2? Certificate => IssuedCertificate?.Certificate;

    /// <summary>The CA certificates above it, issuing CA first, trust anchor excluded (empty unless issued).</summary>
    public IReadOnlyList<X509Certificate2> Chain { get; private init; } = [];

    /// <summary>The stored request's id (null for refusals that are only audited: requests whose fields are unusable).</summary>
    public long? RequestId { get; private init; }

    /// <summary>Why it was rejected.</summary>
    public RejectionReason Reason { get; private init; }

    /// <summary>Human-readable detail of a rejection (safe to show to the requester).</summary>
    public string? Detail { get; private init; }

    /// <summary>True when this is the stored outcome of an earlier request with the same request key.</summary>
    public bool Repeated { get; private init; }

    internal static IssuanceResult Issued(IssuedCertificate certificate, IReadOnlyList<X509Certificate2> chain, long requestId, bool repeated) =>
        new(IssuanceStatus.Issued) { IssuedCertificate = certificate, Chain = chain, RequestId = requestId, Repeated = repeated };

    internal static IssuanceResult Pending(long requestId, bool repeated) =>
        new(IssuanceStatus.Pending) { RequestId = requestId, Repeated = repeated };

    internal static IssuanceResult Rejected(RejectionReason reason, string detail, long? requestId = null, bool repeated = false) =>
        new(IssuanceStatus.Rejected) { Reason = reason, Detail = detail, RequestId = requestId, Repeated = repeated };
}
