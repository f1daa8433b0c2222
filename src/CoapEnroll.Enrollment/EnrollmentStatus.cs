namespace CoapEnroll.Enrollment;

/// <summary>What became of an enrollment request.</summary>
public enum EnrollmentStatus
{
    /// <summary>A certificate was issued (now, or earlier for the same request) and is in the store.</summary>
    Issued,

    /// <summary>The request waits for an operator; the requester repeats it after <see cref="EnrollmentOutcome.RetryAfter"/>.</summary>
    Pending,

    /// <summary>The request was refused; <see cref="EnrollmentOutcome.Reason"/> and <see cref="EnrollmentOutcome.Detail"/> say why.</summary>
    Refused,
}
