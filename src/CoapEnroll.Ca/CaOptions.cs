using Microsoft.Extensions.Configuration;

namespace CoapEnroll.Ca;

/// <summary>
/// CA engine settings, bound from the configuration section <c>Ca</c>. Collections default to <see langword="null"/> so that
/// binding replaces them instead of appending to defaults.
/// </summary>
public sealed class CaOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Ca";

    /// <summary>The data directory (keys, certificates, <c>coapenroll.db</c>); see <see cref="CaDataLayout"/>.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Operator-supplied issuing CA certificate (PEM; the issuing certificate first, then any intermediates, optionally the root). When unset, a demo hierarchy is created in the data directory.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The issuing CA's private key (PEM PKCS#8, possibly encrypted). Required with <see cref="CertificateFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The root (trust anchor) certificate for an operator-supplied CA. Optional when <see cref="CertificateFile"/> ends with a self-signed certificate.</summary>
    public string? TrustAnchorFile { get; set; }

    /// <summary>Name of the environment variable holding the passphrase of encrypted PKCS#8 keys (e.g. COAPENROLL_CA_PASSPHRASE). The passphrase itself is never configured.</summary>
    public string? KeyPassphraseEnvironmentVariable { get; set; }

    /// <summary>
    /// Where the issuing CA's private key is: <see cref="FileKeyProvider"/> (the default: DIR/ca/issuing.key, or
    /// <see cref="KeyFile"/>) or <c>Pkcs11</c> (a token or HSM, configured in <c>Ca:Pkcs11</c>; only DIR/ca/issuing.pem, or
    /// <see cref="CertificateFile"/>, is a file then).
    /// </summary>
    public string KeyProvider { get; set; } = FileKeyProvider;

    /// <summary>The value of <see cref="KeyProvider"/> for keys in PEM files.</summary>
    public const string FileKeyProvider = "File";

    /// <summary>PEM files of manufacturer CAs whose device certificates (IDevIDs) are accepted for first enrollment.</summary>
    public List<string>? TrustedManufacturerCaFiles { get; set; }

    /// <summary>
    /// PEM files of CAs whose certificates with extendedKeyUsage id-kp-cmcRA (RFC 6402 section 2.10) are trusted as registrars
    /// (RFC 7030 section 3.7): they submit requests for devices they authenticated themselves. Certificates of these CAs without
    /// that usage are no one.
    /// </summary>
    public List<string>? TrustedRegistrarCaFiles { get; set; }

    /// <summary>
    /// Whether an active certificate of this CA with extendedKeyUsage id-kp-cmcRA (as <c>coapenroll ca registrar</c> issues) is
    /// trusted as a registrar. On by default; when off, such a certificate is an ordinary device certificate.
    /// </summary>
    public bool TrustRegistrarsOfThisCa { get; set; } = true;

    /// <summary>Whether to create (and trust) the demo manufacturer CA and demo device identity under <c>DIR/demo</c>.</summary>
    public bool CreateDemoIdentities { get; set; } = true;

    /// <summary>Name of the profile used when a request names none.</summary>
    public string DefaultProfile { get; set; } = "default";

    /// <summary>
    /// How long a CRL is valid: its nextUpdate is thisUpdate plus this (<c>Ca:CrlValidity</c>, e.g. <c>7.00:00:00</c>). A CRL is
    /// built anew after a revocation or when less than a quarter of this is left. 1 minute to 366 days.
    /// </summary>
    public TimeSpan CrlValidity { get; set; } = CertificateAuthority.DefaultCrlValidity;

    /// <summary>
    /// Requests waiting for an operator's approval from all requesters together (<c>Ca:MaxPendingRequests</c>); past it a request
    /// that needs approval is refused for now and not stored (EST answers 5.03 with Max-Age).
    /// </summary>
    public int MaxPendingRequests { get; set; } = CertificateAuthority.DefaultMaxPendingRequests;

    /// <summary>The same for one requester identity (<c>Ca:MaxPendingRequestsPerIdentity</c>).</summary>
    public int MaxPendingRequestsPerIdentity { get; set; } = CertificateAuthority.DefaultMaxPendingRequestsPerIdentity;

    /// <summary>Named profiles (<c>Ca:Profiles:&lt;name&gt;</c>).</summary>
    public Dictionary<string, CertificateProfileOptions>? Profiles { get; set; }

    /// <summary>
    /// Binds the <c>Ca</c> section of <paramref name="configuration"/>. Unlike the configuration binder alone, a profile with a
    /// value it cannot read (a misspelt enum such as <c>NamePolicy=AnyNme</c>) or a key no profile has (<c>NamePolicyy</c>) is an
    /// error naming the profile, not a profile silently dropped or a setting silently ignored: either would put the built-in
    /// default in place of what the operator meant to restrict.
    /// </summary>
    /// <exception cref="CaConfigurationException">A value cannot be read, or a profile has a key profiles do not have.</exception>
    public static CaOptions Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IConfigurationSection section = configuration.GetSection(SectionName);
        CaOptions options;
        try
        {
            options = section.Get<CaOptions>() ?? new CaOptions();
        }
        catch (InvalidOperationException ex)
        {
            throw new CaConfigurationException($"{SectionName}: {ex.Message}", ex);
        }

        if (options.CrlValidity < CertificateAuthority.MinCrlValidity || options.CrlValidity > CertificateAuthority.MaxCrlValidity)
        {
            throw new CaConfigurationException($"{SectionName}:{nameof(CrlValidity)}: {options.CrlValidity} is not between {CertificateAuthority.MinCrlValidity} and {CertificateAuthority.MaxCrlValidity}");
        }

        if (options.MaxPendingRequests < 1 || options.MaxPendingRequestsPerIdentity < 1)
        {
            throw new CaConfigurationException(
                $"{SectionName}:{nameof(MaxPendingRequests)} ({options.MaxPendingRequests}) and {SectionName}:{nameof(MaxPendingRequestsPerIdentity)} ({options.MaxPendingRequestsPerIdentity}) must be at least 1");
        }

        // The binder skips a dictionary entry it fails to convert instead of failing; bind each profile alone, strictly, to say why.
        foreach (IConfigurationSection profile in section.GetSection(nameof(Profiles)).GetChildren())
        {
            try
            {
                _ = profile.Get<CertificateProfileOptions>(o => o.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException ex)
            {
                throw new CaConfigurationException($"{SectionName}:{nameof(Profiles)}:{profile.Key}: {ex.Message}", ex);
            }
        }

        return options;
    }
}
