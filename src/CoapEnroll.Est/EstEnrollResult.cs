using CoapEnroll.Ca;
using CoapEnroll.Enrollment;

namespace CoapEnroll.Est;

/// <summary>The outcome of one EST enrollment (enroll, re-enroll, server-side key generation) for a transport to answer.</summary>
internal sealed class EstEnrollResult
{
    /// <summary>Issued, pending approval, or refused.</summary>
    public required EnrollmentStatus Status { get; init; }

    /// <summary>Why it was refused (with <see cref="EnrollmentStatus.Refused"/>).</summary>
    public EstFailure Failure { get; init; }

    /// <summary>The text of the refusal, safe to show to the client.</summary>
    public string? Detail { get; init; }

    /// <summary>The request held for approval (with <see cref="EnrollmentStatus.Pending"/>).</summary>
    public long? RequestId { get; init; }

    /// <summary>
    /// When the client should repeat the request, in whole seconds (with <see cref="EnrollmentStatus.Pending"/>, and with
    /// <see cref="EstFailure.ServiceUnavailable"/>).
    /// </summary>
    public uint RetryAfterSeconds { get; init; }

    /// <summary>The issued certificate (with <see cref="EnrollmentStatus.Issued"/>).</summary>
    public IssuedCertificate? Certificate { get; init; }

    /// <summary>True when the certificate was issued for an identical earlier request (a retry), not anew.</summary>
    public bool Repeated { get; init; }

    /// <summary>The server-generated key for server-side key generation, else null.</summary>
    public EstServerGeneratedKey? Key { get; init; }
}
