using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment;

/// <summary>
/// The answer to an enrollment request: issued (certificate, chain, and for server-side key generation the key), pending (with
/// the time after which to ask again) or refused (reason and text). Front ends only translate it: CoAP code, HTTP status, CMP
/// PKIStatusInfo. Disposing it disposes <see cref="GeneratedKey"/>.
/// </summary>
public sealed class EnrollmentOutcome : IDisposable
{
    private EnrollmentOutcome(EnrollmentStatus status)
    {
        Status = status;
    }

    /// <summary>Issued, pending or refused.</summary>
    public EnrollmentStatus Status { get; private init; }

    /// <summary>The issued certificate, already committed to the store: its DER and fields.</summary>
    public IssuedCertificate? IssuedCertificate { get; private init; }

    /// <summary><see cref="IssuedCertificate"/> decoded (on first use); front ends that only send the certificate read <see cref="IssuedCertificate"/>.</summary>
    public X509Certificate2? Certificate => IssuedCertificate?.Certificate;

    /// <summary>The CA certificates above it, issuing CA first, trust anchor excluded (empty unless issued).</summary>
    public IReadOnlyList<X509Certificate2> Chain { get; private init; } = [];

    /// <summary>The key pair the server generated for <see cref="EnrollmentOperation.ServerKeyGeneration"/>, when issued.</summary>
    public ECDsa? GeneratedKey { get; private init; }

    /// <summary>True when this is the stored outcome of an earlier identical request (a retransmission or a repeat).</summary>
    public bool Repeated { get; private init; }

    /// <summary>The stored request's id, when it was stored.</summary>
    public long? RequestId { get; private init; }

    /// <summary>
    /// When pending, or refused for now (<see cref="RejectionReason.TooManyPendingRequests"/>): how long the requester should wait
    /// before repeating the request.
    /// </summary>
    public TimeSpan RetryAfter { get; private init; }

    /// <summary>When refused: why.</summary>
    public RejectionReason Reason { get; private init; }

    /// <summary>When refused: human-readable text, safe to show to the requester.</summary>
    public string? Detail { get; private init; }

    public void Dispose() => GeneratedKey?.Dispose();

    internal static EnrollmentOutcome Issued(IssuedCertificate certificate, IReadOnlyList<X509Certificate2> chain, ECDsa? generatedKey, long? requestId, bool repeated) =>
        new(EnrollmentStatus.Issued) { IssuedCertificate = certificate, Chain = chain, GeneratedKey = generatedKey, RequestId = requestId, Repeated = repeated };

    internal static EnrollmentOutcome Pending(long? requestId, TimeSpan retryAfter, bool repeated) =>
        new(EnrollmentStatus.Pending) { RequestId = requestId, RetryAfter = retryAfter, Repeated = repeated };

    internal static EnrollmentOutcome Refused(RejectionReason reason, string detail, long? requestId, TimeSpan retryAfter = default) =>
        new(EnrollmentStatus.Refused) { Reason = reason, Detail = detail, RequestId = requestId, RetryAfter = retryAfter };
}
