namespace CoapEnroll.Enrollment;

/// <summary>
/// What a configured shared secret (CMP MAC protection, RFC 9483 section 3.2) entitles its holder to: a profile, a subject, or any
/// name. Without <see cref="Subject"/> or <see cref="AnyName"/> the requested subject is CN=reference alone, or a profile's subject template filled from it.
/// </summary>
public sealed class SharedSecretGrant
{
    /// <summary>The only profile the secret may enroll for; null for any.</summary>
    public string? Profile { get; init; }

    /// <summary>
    /// The only subject the secret may ask for (a distinguished name string, compared case- and white-space-insensitively, in any
    /// attribute order); null when not fixed.
    /// </summary>
    public string? Subject { get; init; }

    /// <summary>
    /// True when the secret may ask for any name the profile issues (reserved names and names held by another identity still
    /// refused); overrides <see cref="Subject"/>.
    /// </summary>
    public bool AnyName { get; init; }
}
