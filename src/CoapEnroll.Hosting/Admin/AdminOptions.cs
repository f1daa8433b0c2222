namespace CoapEnroll.Hosting;

/// <summary>
/// The <c>Admin</c> configuration section: the operator page under <c>/admin/</c> on the https:// listener (<see cref="AdminEndpointSource"/>).
/// It is off unless <see cref="Enabled"/> is true, and it refuses to start enabled without a way to authenticate: a password
/// (<see cref="User"/> with <see cref="PasswordHash"/>, made by <c>coapenroll admin hash-password</c>) or a TLS client certificate
/// whose SHA-256 thumbprint is listed in <see cref="ClientCertificateThumbprints"/>. Disabled, <c>/admin/</c> is 404.
/// </summary>
public sealed class AdminOptions
{
    public const string SectionName = "Admin";

    /// <summary>The longest <see cref="User"/>: it goes into every audit entry as <c>operator:web:USER</c>.</summary>
    public const int MaxUserLength = 128;

    /// <summary>Whether the operator page is served; false by default.</summary>
    public bool Enabled { get; set; }

    /// <summary>The operator's user name for password login; null for none (client certificates only).</summary>
    public string? User { get; set; }

    /// <summary>The operator's password as <see cref="AdminPasswordHash"/> encodes it (<c>pbkdf2-sha512$ITERATIONS$SALT$HASH</c>).</summary>
    public string? PasswordHash { get; set; }

    /// <summary>
    /// SHA-256 thumbprints (hex, colons and case ignored) of the client certificates that authenticate an operator without a password.
    /// The TLS handshake proves the client holds the key; the certificate is matched by its hash, not by a chain.
    /// </summary>
    public IList<string> ClientCertificateThumbprints { get; } = [];

    /// <summary>How long a password login lasts, in minutes; 30 by default.</summary>
    public int SessionMinutes { get; set; } = 30;

    /// <summary>The most password login sessions open at once; 64 by default. Beyond it a login is answered 503 until one ends.</summary>
    public int MaxSessions { get; set; } = 64;

    /// <summary>Failed logins allowed from one address (an IPv6 /64) per <see cref="FailedLoginWindowSeconds"/>; 5 by default.</summary>
    public int MaxFailedLoginsPerAddress { get; set; } = 5;

    /// <summary>Failed logins allowed from all addresses together per <see cref="FailedLoginWindowSeconds"/>; 50 by default.</summary>
    public int MaxFailedLogins { get; set; } = 50;

    /// <summary>The window the failed-login limits count in, in seconds; 300 by default.</summary>
    public int FailedLoginWindowSeconds { get; set; } = 300;

    /// <summary>Whether a password login is configured.</summary>
    public bool HasPassword => !string.IsNullOrEmpty(User) && !string.IsNullOrEmpty(PasswordHash);

    /// <summary>The problem with the settings, or null when they are usable (also when <see cref="Enabled"/> is false).</summary>
    public string? Validate()
    {
        if (!Enabled)
        {
            return null;
        }

        if (string.IsNullOrEmpty(User) != string.IsNullOrEmpty(PasswordHash))
        {
            return "Admin:User and Admin:PasswordHash go together (make the hash with 'coapenroll admin hash-password').";
        }

        if (User is { Length: > MaxUserLength })
        {
            return $"Admin:User is longer than {MaxUserLength} characters.";
        }

        if (!HasPassword && ClientCertificateThumbprints.Count == 0)
        {
            return "Admin:Enabled is true but no operator can authenticate: set Admin:User and Admin:PasswordHash, or Admin:ClientCertificateThumbprints:0.";
        }

        if (PasswordHash is { Length: > 0 } hash && !AdminPasswordHash.TryParse(hash, out _))
        {
            return "Admin:PasswordHash is not a hash made by 'coapenroll admin hash-password' (pbkdf2-sha512$ITERATIONS$SALT$HASH).";
        }

        foreach (string thumbprint in ClientCertificateThumbprints)
        {
            if (NormalizeThumbprint(thumbprint) is null)
            {
                return $"Admin:ClientCertificateThumbprints: '{thumbprint}' is not a SHA-256 thumbprint (64 hex digits).";
            }
        }

        if (SessionMinutes <= 0 || MaxSessions <= 0 || MaxFailedLoginsPerAddress <= 0 || MaxFailedLogins <= 0 || FailedLoginWindowSeconds <= 0)
        {
            return "Admin:SessionMinutes, MaxSessions, MaxFailedLoginsPerAddress, MaxFailedLogins and FailedLoginWindowSeconds must be positive.";
        }

        return null;
    }

    /// <summary>64 upper-case hex digits, or null when <paramref name="thumbprint"/> is not a SHA-256 thumbprint.</summary>
    internal static string? NormalizeThumbprint(string thumbprint)
    {
        string hex = thumbprint.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit) ? hex : null;
    }
}
