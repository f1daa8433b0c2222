namespace CoapEnroll.Est;

/// <summary>
/// A user EST over HTTPS admits with HTTP Basic authentication (RFC 7030 §3.2.3); configuration
/// <c>Est:BasicUsers:&lt;user name&gt;</c>. Exactly one of <see cref="Password"/> and <see cref="PasswordHash"/>. Like a CMP shared
/// secret, the user may only ask for the subject CN=&lt;user name&gt; unless <see cref="Subject"/> or <see cref="AnyName"/> says
/// otherwise, and enrolls anew, never re-enrolls.
/// </summary>
public sealed class EstBasicUserOptions
{
    /// <summary>The password in the clear (as <c>Cmp:SharedSecrets:*:Secret</c> is); prefer <see cref="PasswordHash"/>.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// The password as <c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c> (SALT and HASH in base64, HASH 32 bytes, ITERATIONS at least
    /// 10000): PBKDF2 with HMAC-SHA-256 over the UTF-8 password (RFC 8018 §5.2).
    /// </summary>
    public string? PasswordHash { get; set; }

    /// <summary>The only profile the user may enroll for; null for any profile that takes Basic authentication.</summary>
    public string? Profile { get; set; }

    /// <summary>The only subject the user may ask for (a distinguished name); null: CN=&lt;user name&gt;.</summary>
    public string? Subject { get; set; }

    /// <summary>True when the user may ask for any name the profile issues.</summary>
    public bool AnyName { get; set; }
}
