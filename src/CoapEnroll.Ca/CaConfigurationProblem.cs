namespace CoapEnroll.Ca;

/// <summary>What is wrong with a CA file or setting.</summary>
public enum CaConfigurationProblem
{
    /// <summary>A configuration value is missing, out of range or unknown.</summary>
    InvalidSetting,

    /// <summary>The file does not exist.</summary>
    FileMissing,

    /// <summary>The file exists but cannot be read (permissions, I/O error, too large).</summary>
    FileUnreadable,

    /// <summary>The file holds no usable PEM block of the expected kind (RFC 7468).</summary>
    InvalidPem,

    /// <summary>The key is encrypted PKCS#8 but no passphrase is configured or the variable is unset.</summary>
    PassphraseMissing,

    /// <summary>The encrypted PKCS#8 key cannot be decrypted with the passphrase given.</summary>
    WrongPassphrase,

    /// <summary>The private key does not belong to the certificate.</summary>
    KeyMismatch,

    /// <summary>The certificate is not a CA certificate allowed to sign certificates (RFC 5280 sections 4.2.1.3, 4.2.1.9).</summary>
    NotACaCertificate,

    /// <summary>The certificate is outside its validity period.</summary>
    Expired,

    /// <summary>The certificate does not chain to the trust anchor.</summary>
    ChainInvalid,

    /// <summary>The data directory holds some of the files of a set but not all.</summary>
    IncompleteDataDirectory,

    /// <summary>The PKCS#11 module cannot be loaded, or the token (or slot) it names is not there.</summary>
    TokenUnavailable,

    /// <summary>The token refused the user PIN (wrong, locked or expired), or no PIN is configured.</summary>
    WrongPin,

    /// <summary>The token has no private key with the configured label or id.</summary>
    KeyMissing,
}
