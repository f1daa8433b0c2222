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

    /// <summary>PEM files of manufacturer CAs whose device certificates (IDevIDs) are accepted for first enrollment.</summary>
    public List<string>? TrustedManufacturerCaFiles { get; set; }

    /// <summary>Whether to create (and trust) the demo manufacturer CA and demo device identity under <c>DIR/demo</c>.</summary>
    public bool CreateDemoIdentities { get; set; } = true;

    /// <summary>Name of the profile used when a request names none.</summary>
    public string DefaultProfile { get; set; } = "default";

    /// <summary>Named profiles (<c>Ca:Profiles:&lt;name&gt;</c>).</summary>
    public Dictionary<string, CertificateProfileOptions>? Profiles { get; set; }
}
