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

    /// <summary>Whether requests signed with SHA-1 are accepted (default false: SHA-1 collisions are practical).</summary>
    public bool? AllowSha1Signatures { get; set; }
}
