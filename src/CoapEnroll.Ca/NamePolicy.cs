namespace CoapEnroll.Ca;

/// <summary>
/// Which names (subject and subjectAltName) a profile issues to whom. Whatever the policy, the CA never issues a reserved name (the
/// CA certificates' and the server certificate's, see <see cref="ReservedNames"/>) nor a subject that an active certificate of
/// another requester holds.
/// </summary>
public enum NamePolicy
{
    /// <summary>
    /// The default: names are bound to the requester's certificate. The requested subject holds a CN or a serialNumber (or both),
    /// and each of its attributes has a value the requester's certificate subject holds for that type; or it is one of the profile's
    /// <see cref="CertificateProfile.SubjectTemplates"/> filled from that certificate, or one of its
    /// <see cref="CertificateProfile.AllowedSubjects"/>. Each requested subjectAltName is one the requester's certificate carries, or
    /// comes from <see cref="CertificateProfile.SubjectAltNameTemplates"/> or <see cref="CertificateProfile.AllowedSubjectAltNames"/>.
    /// Anything else is refused.
    /// </summary>
    BoundToRequester,

    /// <summary>
    /// Names bound to the requester (as <see cref="BoundToRequester"/>) are issued; any other name waits for an operator's approval
    /// instead of being refused.
    /// </summary>
    AnyNameHeldForApproval,

    /// <summary>
    /// Any name a trusted requester asks for is issued (reserved and held names excepted): any device of a trusted manufacturer can
    /// obtain a certificate naming any other. Only for closed deployments where that is intended; the server warns at start.
    /// </summary>
    AnyName,
}
