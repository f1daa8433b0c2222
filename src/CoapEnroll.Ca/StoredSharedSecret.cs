namespace CoapEnroll.Ca;

/// <summary>
/// A shared secret kept in the store (<see cref="ISharedSecretStore"/>): a MAC reference (the senderKID of a CMP request) with its
/// secret and what its holder may ask for, as a configured secret has, plus the life cycle an operator gives device onboarding
/// codes: an expiry, and one-time use (consumed by the first enrollment that gets a certificate with it).
/// </summary>
/// <remarks>
/// The secret is stored as is: PasswordBasedMac and PBMAC1 need the secret itself to verify a MAC, so no hash would do. The
/// database file is as sensitive as the CA's key files; encrypting the column at rest is not done.
/// </remarks>
public sealed record StoredSharedSecret
{
    /// <summary>Longest reference (CMP senderKID) accepted.</summary>
    public const int MaxReferenceLength = 128;

    /// <summary>The reference (e.g. <c>openssl cmp -ref</c>).</summary>
    public required string Reference { get; init; }

    /// <summary>The secret: the UTF-8 bytes of the text a client gives (<c>openssl cmp -secret pass:TEXT</c>).</summary>
    public required byte[] Secret { get; init; }

    /// <summary>The only profile it may enroll under; null: any.</summary>
    public string? Profile { get; init; }

    /// <summary>The only subject DN it may ask for; null: the subject must be CN=reference alone (or a profile's subject template filled from it), unless <see cref="AnyName"/>.</summary>
    public string? Subject { get; init; }

    /// <summary>Any name the profile allows.</summary>
    public bool AnyName { get; init; }

    /// <summary>When it was added (set by the store).</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>After this instant it starts no new transaction; null: never expires.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Consumed by the first enrollment it obtains a certificate with (or that waits for an operator).</summary>
    public bool OneTime { get; init; }

    /// <summary>When a one-time secret was consumed; null while unused.</summary>
    public DateTimeOffset? ConsumedAt { get; init; }

    /// <summary>What consumed it (e.g. the CMP transactionID in hex); null while unused.</summary>
    public string? ConsumedBy { get; init; }

    /// <summary>Whether it has expired at <paramref name="now"/>.</summary>
    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expires && now >= expires;

    /// <summary>Whether it is a one-time secret already used.</summary>
    public bool IsConsumed => OneTime && ConsumedAt is not null;
}
