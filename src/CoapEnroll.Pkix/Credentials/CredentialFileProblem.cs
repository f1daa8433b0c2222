namespace CoapEnroll.Pkix;

/// <summary>What is wrong with a certificate or key file.</summary>
public enum CredentialFileProblem
{
    /// <summary>The file does not exist.</summary>
    FileMissing,

    /// <summary>The file exists but cannot be read (permissions, I/O error, too large).</summary>
    FileUnreadable,

    /// <summary>The file holds no usable PEM block of the expected kind (RFC 7468).</summary>
    InvalidPem,

    /// <summary>The key is encrypted PKCS#8 but no passphrase was given.</summary>
    PassphraseMissing,

    /// <summary>The encrypted PKCS#8 key cannot be decrypted with the passphrase given.</summary>
    WrongPassphrase,

    /// <summary>The private key does not belong to the certificate.</summary>
    KeyMismatch,
}
