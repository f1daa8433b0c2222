namespace CoapEnroll.Ca;

/// <summary>The default profile and the named profiles (selected by EST label, RFC 7030 section 3.2.2; RFC 9148 section 5).</summary>
public sealed class CertificateProfileCatalog
{
    private readonly Dictionary<string, CertificateProfile> _profiles;

    public CertificateProfileCatalog(IEnumerable<CertificateProfile> profiles, string defaultProfileName)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        _profiles = new Dictionary<string, CertificateProfile>(StringComparer.OrdinalIgnoreCase);
        foreach (CertificateProfile profile in profiles)
        {
            if (!_profiles.TryAdd(profile.Name, profile))
            {
                throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting, $"profile '{profile.Name}' is defined twice");
            }
        }

        if (!_profiles.TryGetValue(defaultProfileName, out CertificateProfile? fallback))
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting, $"Ca:DefaultProfile '{defaultProfileName}' is not defined");
        }

        Default = fallback;
    }

    /// <summary>The profile used when a request names none.</summary>
    public CertificateProfile Default { get; }

    /// <summary>All profiles.</summary>
    public IReadOnlyCollection<CertificateProfile> All => _profiles.Values;

    /// <summary>
    /// Builds the catalog from <see cref="CaOptions.Profiles"/>. When <see cref="CaOptions.DefaultProfile"/> names no configured profile,
    /// a profile of that name with all defaults (365 days, digitalSignature, clientAuth, copy subject and SANs, P-256/P-384/RSA-2048+) is added.
    /// </summary>
    public static CertificateProfileCatalog FromOptions(CaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var profiles = new List<CertificateProfile>();
        foreach ((string name, CertificateProfileOptions profileOptions) in options.Profiles ?? [])
        {
            profiles.Add(CertificateProfile.FromOptions(name, profileOptions));
        }

        if (!profiles.Exists(p => string.Equals(p.Name, options.DefaultProfile, StringComparison.OrdinalIgnoreCase)))
        {
            profiles.Add(CertificateProfile.FromOptions(options.DefaultProfile, null));
        }

        return new CertificateProfileCatalog(profiles, options.DefaultProfile);
    }

    /// <summary>The profile called <paramref name="name"/>, or the default when <paramref name="name"/> is null or empty.</summary>
    public bool TryGet(string? name, out CertificateProfile profile)
    {
        if (string.IsNullOrEmpty(name))
        {
            profile = Default;
            return true;
        }

        return _profiles.TryGetValue(name, out profile!);
    }
}
