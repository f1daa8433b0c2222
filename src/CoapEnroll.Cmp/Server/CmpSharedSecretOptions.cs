namespace CoapEnroll.Cmp;

/// <summary>
/// One MAC reference (RFC 9483 §3.2: the senderKID of a MAC-protected request) and what its holder may ask for. Configured under
/// <c>Cmp:SharedSecrets:&lt;reference&gt;</c>.
/// </summary>
public sealed class CmpSharedSecretOptions
{
    /// <summary>The secret as text; its UTF-8 bytes are the PasswordBasedMac / PBMAC1 password (what <c>openssl cmp -secret pass:TEXT</c> uses).</summary>
    public string? Secret { get; set; }

    /// <summary>The only profile (EST/CMP label) this secret may enroll under; unset: any profile.</summary>
    public string? Profile { get; set; }

    /// <summary>The only subject DN this secret may ask for; unset: the subject must be CN=reference alone (or a profile's subject template filled from it), unless <see cref="AnyName"/>.</summary>
    public string? Subject { get; set; }

    /// <summary>Any name the profile allows (reserved names and names held by others still refused). For demo and bootstrap secrets.</summary>
    public bool AnyName { get; set; }
}
