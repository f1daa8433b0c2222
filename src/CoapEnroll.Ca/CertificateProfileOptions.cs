namespace CoapEnroll.Ca;

/// <summary>
/// Bindable form of a certificate profile (configuration section <c>Ca:Profiles:&lt;name&gt;</c>).
/// Collections default to <see langword="null"/> so that the configuration binder replaces rather than
/// appends to them; <see cref="CertificateProfile.FromOptions"/> fills in the defaults and validates.
/// </summary>
public sealed class CertificateProfileOptions
{
    /// <summary>Validity in days (default 365).</summary>
    public int? ValidityDays { get; set; }

    /// <summary>Minutes by which notBefore is set before the issuance time, for clock skew (default 5).</summary>
    public int? BackdateMinutes { get; set; }

    /// <summary>Key usage bits by <see cref="System.Security.Cryptography.X509Certificates.X509KeyUsageFlags"/> name (default DigitalSignature).</summary>
    public List<string>? KeyUsage { get; set; }

    /// <summary>Extended key usages by name (clientAuth, serverAuth, codeSigning, emailProtection, timeStamping, OCSPSigning) or dotted OID (default clientAuth).</summary>
    public List<string>? ExtendedKeyUsage { get; set; }

    /// <summary>Subject handling (default CopyFromRequest).</summary>
    public SubjectPolicy? SubjectPolicy { get; set; }

    /// <summary>Attribute types (CN, O, OU, C, L, ST, serialNumber, DC, UID or dotted OIDs) allowed when <see cref="SubjectPolicy"/> is AllowList.</summary>
    public List<string>? AllowedSubjectAttributes { get; set; }

    /// <summary>SAN handling (default Copy).</summary>
    public SubjectAltNamePolicy? SubjectAltNames { get; set; }

    /// <summary>Accepted key types: P-256, P-384, RSA (default all three).</summary>
    public List<string>? AcceptedKeyTypes { get; set; }

    /// <summary>Minimum RSA modulus in bits (default 2048, not below 2048).</summary>
    public int? MinimumRsaKeySize { get; set; }

    /// <summary>Whether requests wait for an operator's approval (default false).</summary>
    public bool? RequiresApproval { get; set; }

    /// <summary>
    /// Which names (subject and subjectAltName) the profile issues to whom (default <see cref="Ca.NamePolicy.BoundToRequester"/>):
    /// <list type="bullet">
    /// <item><c>BoundToRequester</c>: the requested subject holds a CN or a serialNumber, and each of its attributes has a value the
    /// requester's certificate subject holds for that type (the demo device, <c>serialNumber=DEMO-0001, CN=demo-device-1, O=…</c>,
    /// may ask for <c>CN=demo-device-1</c>); each subjectAltName is one the requester's certificate carries. The templates and
    /// allow-lists below add names; anything else is refused (4.03).</item>
    /// <item><c>AnyNameHeldForApproval</c>: names as above are issued, any other name waits for an operator
    /// (<c>coapenroll requests approve|reject</c>).</item>
    /// <item><c>AnyName</c>: any name is issued; any device can then obtain a certificate naming any other. The server logs a
    /// warning at start.</item>
    /// </list>
    /// Whatever the policy, the CA's and the server's names are never issued, nor a subject held by an active certificate of another
    /// requester.
    /// </summary>
    public NamePolicy? NamePolicy { get; set; }

    /// <summary>
    /// Subjects issued in addition to those bound by <see cref="Ca.NamePolicy.BoundToRequester"/>, in RFC 4514 form with placeholders
    /// for attributes of the requester's certificate subject: <c>serialNumber={serialNumber}, CN={CN}, O=Example Devices</c>. A
    /// requested subject matches when it holds exactly these attributes, in any order. A placeholder whose attribute the requester's
    /// certificate lacks (or holds twice) makes the template not apply.
    /// </summary>
    public List<string>? SubjectTemplates { get; set; }

    /// <summary>
    /// subjectAltNames issued in addition to those the requester's certificate carries, with the same placeholders:
    /// <c>DNS:{CN}.devices.example</c>, <c>URI:urn:dev:sn:{serialNumber}</c>, <c>IP:192.0.2.7</c>.
    /// </summary>
    public List<string>? SubjectAltNameTemplates { get; set; }

    /// <summary>
    /// Literal subjects (RFC 4514 form, no placeholders) any trusted requester may obtain, e.g. <c>CN=gateway, O=Example</c>; once
    /// issued, the name is held by that requester's identity while the certificate is active.
    /// </summary>
    public List<string>? AllowedSubjects { get; set; }

    /// <summary>Literal subjectAltNames (<c>DNS:…</c>, <c>IP:…</c>, <c>URI:…</c>) any trusted requester may obtain.</summary>
    public List<string>? AllowedSubjectAltNames { get; set; }

    /// <summary>Whether requests signed with SHA-1 are accepted (default false: SHA-1 collisions are practical).</summary>
    public bool? AllowSha1Signatures { get; set; }
}
