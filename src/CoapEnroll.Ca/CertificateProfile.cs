using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>A validated, immutable certificate profile: what an issued end-entity certificate looks like and which requests qualify.</summary>
public sealed class CertificateProfile
{
    /// <summary>Longest accepted profile name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>Smallest RSA modulus any profile may accept.</summary>
    public const int MinimumRsaKeySizeFloor = 2048;

    /// <summary>Largest RSA modulus accepted, which bounds the cost of signature verification.</summary>
    public const int MaximumRsaKeySize = 8192;

    private static readonly FrozenDictionary<string, string> s_attributeNames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["CN"] = "2.5.4.3",
        ["commonName"] = "2.5.4.3",
        ["serialNumber"] = "2.5.4.5",
        ["C"] = "2.5.4.6",
        ["L"] = "2.5.4.7",
        ["ST"] = "2.5.4.8",
        ["O"] = "2.5.4.10",
        ["OU"] = "2.5.4.11",
        ["DC"] = "0.9.2342.19200300.100.1.25",
        ["UID"] = "0.9.2342.19200300.100.1.1",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, string> s_ekuNames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        // RFC 5280 section 4.2.1.12.
        ["serverAuth"] = "1.3.6.1.5.5.7.3.1",
        ["clientAuth"] = "1.3.6.1.5.5.7.3.2",
        ["codeSigning"] = "1.3.6.1.5.5.7.3.3",
        ["emailProtection"] = "1.3.6.1.5.5.7.3.4",
        ["timeStamping"] = "1.3.6.1.5.5.7.3.8",
        ["OCSPSigning"] = "1.3.6.1.5.5.7.3.9",

        // RFC 6402 section 2.10: a registration authority (EST registrar, RFC 7030 section 3.7).
        ["cmcRA"] = "1.3.6.1.5.5.7.3.28",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private CertificateProfile(string name)
    {
        Name = name;
    }

    /// <summary>The profile's name (the EST label that selects it, RFC 7030 section 3.2.2).</summary>
    public string Name { get; }

    /// <summary>Validity of issued certificates.</summary>
    public TimeSpan Validity { get; private init; }

    /// <summary>How far notBefore lies before the issuance time.</summary>
    public TimeSpan Backdate { get; private init; }

    /// <summary>Key usage (RFC 5280 section 4.2.1.3), marked critical.</summary>
    public X509KeyUsageFlags KeyUsage { get; private init; }

    /// <summary>Extended key usage OIDs (RFC 5280 section 4.2.1.12); empty means the extension is omitted.</summary>
    public IReadOnlyList<string> ExtendedKeyUsages { get; private init; } = [];

    /// <summary>Subject handling.</summary>
    public SubjectPolicy SubjectPolicy { get; private init; }

    /// <summary>Allowed subject attribute type OIDs when <see cref="SubjectPolicy"/> is AllowList.</summary>
    public IReadOnlySet<string> AllowedSubjectAttributeOids { get; private init; } = FrozenSet<string>.Empty;

    /// <summary>SAN handling.</summary>
    public SubjectAltNamePolicy SubjectAltNames { get; private init; }

    /// <summary>Accepted key types.</summary>
    public KeyTypes AcceptedKeyTypes { get; private init; }

    /// <summary>Minimum RSA modulus in bits.</summary>
    public int MinimumRsaKeySize { get; private init; }

    /// <summary>Whether requests wait for an operator.</summary>
    public bool RequiresApproval { get; private init; }

    /// <summary>Which names the profile issues to whom (default <see cref="NamePolicy.BoundToRequester"/>).</summary>
    public NamePolicy NamePolicy { get; private init; }

    /// <summary>Subjects the profile issues to a requester, filled from its certificate's subject (see <see cref="NamePolicy.BoundToRequester"/>).</summary>
    public IReadOnlyList<SubjectTemplate> SubjectTemplates { get; private init; } = [];

    /// <summary>subjectAltNames the profile issues to a requester, filled from its certificate's subject.</summary>
    public IReadOnlyList<SubjectAltNameTemplate> SubjectAltNameTemplates { get; private init; } = [];

    /// <summary>Literal subjects the profile issues to any trusted requester (the first to obtain one holds it, see <see cref="NamePolicy"/>).</summary>
    public IReadOnlyList<SubjectTemplate> AllowedSubjects { get; private init; } = [];

    /// <summary>Literal subjectAltNames the profile issues to any trusted requester.</summary>
    public IReadOnlyList<GeneralName> AllowedSubjectAltNames { get; private init; } = [];

    /// <summary>
    /// Whether a request signed with SHA-1 (ecdsa-with-SHA1, sha1WithRSAEncryption, RSASSA-PSS with SHA-1) is accepted; false
    /// refuses it as <see cref="RejectionReason.UnsupportedAlgorithm"/>. Only for devices that cannot sign otherwise.
    /// </summary>
    public bool AllowSha1Signatures { get; private init; }

    /// <summary>Validates <paramref name="options"/> and fills in defaults.</summary>
    /// <exception cref="CaConfigurationException">A value is out of range or unknown.</exception>
    public static CertificateProfile FromOptions(string name, CertificateProfileOptions? options)
    {
        ValidateName(name);
        options ??= new CertificateProfileOptions();
        string where = $"Ca:Profiles:{name}";

        int validityDays = options.ValidityDays ?? 365;
        if (validityDays is < 1 or > 36500)
        {
            throw Invalid(where, $"ValidityDays {validityDays} is outside 1..36500");
        }

        int backdate = options.BackdateMinutes ?? 5;
        if (backdate is < 0 or > 1440)
        {
            throw Invalid(where, $"BackdateMinutes {backdate} is outside 0..1440");
        }

        X509KeyUsageFlags keyUsage = X509KeyUsageFlags.None;
        foreach (string usage in options.KeyUsage ?? ["DigitalSignature"])
        {
            if (!Enum.TryParse(usage, ignoreCase: true, out X509KeyUsageFlags flag) || int.TryParse(usage, out _) ||
                flag is X509KeyUsageFlags.KeyCertSign or X509KeyUsageFlags.CrlSign)
            {
                // An end-entity profile never gets keyCertSign or cRLSign (RFC 5280 section 4.2.1.3).
                throw Invalid(where, $"KeyUsage '{usage}' is unknown or reserved for CAs");
            }

            keyUsage |= flag;
        }

        var ekus = new List<string>();
        foreach (string eku in options.ExtendedKeyUsage ?? ["clientAuth"])
        {
            string oid = s_ekuNames.TryGetValue(eku, out string? known) ? known : eku;
            if (!IsDottedOid(oid))
            {
                throw Invalid(where, $"ExtendedKeyUsage '{eku}' is neither a known name nor a dotted OID");
            }

            if (!ekus.Contains(oid))
            {
                ekus.Add(oid);
            }
        }

        var allowed = new HashSet<string>(StringComparer.Ordinal);
        foreach (string attribute in options.AllowedSubjectAttributes ?? [])
        {
            string oid = s_attributeNames.TryGetValue(attribute, out string? known) ? known : attribute;
            if (!IsDottedOid(oid))
            {
                throw Invalid(where, $"AllowedSubjectAttributes '{attribute}' is neither a known name nor a dotted OID");
            }

            allowed.Add(oid);
        }

        SubjectPolicy subjectPolicy = options.SubjectPolicy ?? SubjectPolicy.CopyFromRequest;
        if (subjectPolicy == SubjectPolicy.AllowList && allowed.Count == 0)
        {
            throw Invalid(where, "SubjectPolicy AllowList needs at least one AllowedSubjectAttributes entry");
        }

        KeyTypes keyTypes = KeyTypes.None;
        foreach (string type in options.AcceptedKeyTypes ?? ["P-256", "P-384", "RSA"])
        {
            keyTypes |= type.ToUpperInvariant() switch
            {
                "P-256" or "P256" or "SECP256R1" or "PRIME256V1" => KeyTypes.EcP256,
                "P-384" or "P384" or "SECP384R1" => KeyTypes.EcP384,
                "RSA" => KeyTypes.Rsa,
                _ => throw Invalid(where, $"AcceptedKeyTypes '{type}' is not one of P-256, P-384, RSA"),
            };
        }

        if (keyTypes == KeyTypes.None)
        {
            throw Invalid(where, "AcceptedKeyTypes is empty");
        }

        int minRsa = options.MinimumRsaKeySize ?? MinimumRsaKeySizeFloor;
        if (minRsa is < MinimumRsaKeySizeFloor or > MaximumRsaKeySize)
        {
            throw Invalid(where, $"MinimumRsaKeySize {minRsa} is outside {MinimumRsaKeySizeFloor}..{MaximumRsaKeySize}");
        }

        NamePolicy namePolicy = options.NamePolicy ?? NamePolicy.BoundToRequester;
        if (!Enum.IsDefined(namePolicy))
        {
            throw Invalid(where, $"NamePolicy {namePolicy} is not one of BoundToRequester, AnyNameHeldForApproval, AnyName");
        }

        var subjectTemplates = new List<SubjectTemplate>();
        foreach (string text in options.SubjectTemplates ?? [])
        {
            subjectTemplates.Add(SubjectTemplate.TryParse(text, out string? error) ?? throw Invalid(where, $"SubjectTemplates: {error}"));
        }

        var altNameTemplates = new List<SubjectAltNameTemplate>();
        foreach (string text in options.SubjectAltNameTemplates ?? [])
        {
            altNameTemplates.Add(SubjectAltNameTemplate.TryParse(text, out string? error) ?? throw Invalid(where, $"SubjectAltNameTemplates: {error}"));
        }

        var allowedSubjects = new List<SubjectTemplate>();
        foreach (string text in options.AllowedSubjects ?? [])
        {
            SubjectTemplate subject = SubjectTemplate.TryParse(text, out string? error) ?? throw Invalid(where, $"AllowedSubjects: {error}");
            allowedSubjects.Add(subject.HasPlaceholders
                ? throw Invalid(where, $"AllowedSubjects: '{text}' has a placeholder; names filled from the requester's certificate go in SubjectTemplates")
                : subject);
        }

        var allowedAltNames = new List<GeneralName>();
        foreach (string text in options.AllowedSubjectAltNames ?? [])
        {
            if (text.AsSpan().IndexOfAny('{', '}') >= 0)
            {
                throw Invalid(where, $"AllowedSubjectAltNames: '{text}' has a placeholder; names filled from the requester's certificate go in SubjectAltNameTemplates");
            }

            allowedAltNames.Add(GeneralName.TryParse(text, out GeneralName altName, out string? error) ? altName : throw Invalid(where, $"AllowedSubjectAltNames: {error}"));
        }

        if (namePolicy == NamePolicy.AnyName && subjectTemplates.Count + altNameTemplates.Count + allowedSubjects.Count + allowedAltNames.Count > 0)
        {
            throw Invalid(where, "NamePolicy AnyName issues any name: SubjectTemplates, SubjectAltNameTemplates, AllowedSubjects and AllowedSubjectAltNames would have no effect");
        }

        return new CertificateProfile(name)
        {
            Validity = TimeSpan.FromDays(validityDays),
            Backdate = TimeSpan.FromMinutes(backdate),
            KeyUsage = keyUsage,
            ExtendedKeyUsages = ekus.AsReadOnly(),
            SubjectPolicy = subjectPolicy,
            AllowedSubjectAttributeOids = allowed.ToFrozenSet(StringComparer.Ordinal),
            SubjectAltNames = options.SubjectAltNames ?? SubjectAltNamePolicy.Copy,
            AcceptedKeyTypes = keyTypes,
            MinimumRsaKeySize = minRsa,
            RequiresApproval = options.RequiresApproval ?? false,
            NamePolicy = namePolicy,
            SubjectTemplates = subjectTemplates.AsReadOnly(),
            SubjectAltNameTemplates = altNameTemplates.AsReadOnly(),
            AllowedSubjects = allowedSubjects.AsReadOnly(),
            AllowedSubjectAltNames = allowedAltNames.AsReadOnly(),
            AllowSha1Signatures = options.AllowSha1Signatures ?? false,
        };
    }

    /// <summary>Whether <paramref name="name"/> is a syntactically valid profile name (1..64 of A-Z a-z 0-9 . _ -).</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsDottedOid(string value)
    {
        if (value.Length is < 3 or > 128)
        {
            return false;
        }

        try
        {
            // Round-trips through the DER writer, which rejects anything that is not a valid OID.
            var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
            writer.WriteObjectIdentifier(value);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static void ValidateName(string name)
    {
        if (!IsValidName(name))
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting,
                string.Create(CultureInfo.InvariantCulture, $"profile name '{name}' must be 1..{MaxNameLength} characters of A-Z a-z 0-9 . _ -"));
        }
    }

    private static CaConfigurationException Invalid(string where, string problem) =>
        new(null, CaConfigurationProblem.InvalidSetting, $"{where}: {problem}");
}
