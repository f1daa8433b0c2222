namespace CoapEnroll.Enrollment;

/// <summary>
/// The decision of <see cref="EnrollmentService.AuthorizeAsync"/>: refused (already recorded), or authorized, in which case the
/// front end may still refuse it for reasons of its own (through <see cref="EnrollmentService.RefuseAsync(EnrollmentAuthorization, Ca.RejectionReason, string, CancellationToken)"/>)
/// before <see cref="EnrollmentService.IssueAsync"/> issues it. Only the service creates one, so nothing is issued unchecked.
/// </summary>
public sealed class EnrollmentAuthorization
{
    internal EnrollmentAuthorization(EnrollmentRequest request, EnrollmentOutcome? refusal, string? requestKey, string? replacesSerialNumber, string? approvalReason,
        string identity)
    {
        Identity = identity;
        Request = request;
        Refusal = refusal;
        RequestKey = requestKey;
        ReplacesSerialNumber = replacesSerialNumber;
        ApprovalReason = approvalReason;
    }

    /// <summary>
    /// The identity that holds the names of the certificate: the requester's (<see cref="Requester.Identity"/>), or for a request
    /// a registrar submitted (<see cref="RequesterTrust.Registrar"/>), the device's as <see cref="EnrollmentService.DeviceIdentityOf"/> derives it.
    /// </summary>
    public string Identity { get; }

    /// <summary>The request decided on.</summary>
    public EnrollmentRequest Request { get; }

    /// <summary>True when the request may be issued.</summary>
    public bool IsAuthorized => Refusal is null;

    /// <summary>The refusal, recorded in the store, when not authorized.</summary>
    public EnrollmentOutcome? Refusal { get; }

    /// <summary>The idempotency key: a repeat of the same request by the same requester to the same operation and profile.</summary>
    public string? RequestKey { get; }

    /// <summary>For re-enrollment: the serial number of the certificate being replaced.</summary>
    public string? ReplacesSerialNumber { get; }

    /// <summary>
    /// Non-null when the request is authorized only to wait for an operator: why (a name not bound to the requester under
    /// <see cref="Ca.NamePolicy.AnyNameHeldForApproval"/>).
    /// </summary>
    public string? ApprovalReason { get; }
}
