using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Est;

/// <summary>Settings of the EST servers: EST-coaps (RFC 9148) and EST over HTTPS (RFC 7030), on one enrollment service.</summary>
public sealed class EstServerOptions
{
    /// <summary>The default root resource (RFC 9148 §4.1: the server MUST support it).</summary>
    public const string WellKnownRoot = "/.well-known/est";

    /// <summary>
    /// Root resources the EST resources are mapped under (each also with <c>/{label}/</c>). The default is only
    /// <see cref="WellKnownRoot"/>; other roots (for example <c>/est</c>) are found through discovery (RFC 9148 §4.1).
    /// </summary>
    public IList<string> Roots { get; set; } = [WellKnownRoot];

    /// <summary>Protocol name recorded with each request in the CA store.</summary>
    public string Protocol { get; set; } = "est-coaps";

    /// <summary>
    /// Refuse (4.03) a CSR without the tls-unique challengePassword (RFC 7030 §3.5 "The EST server MAY reject requests without
    /// tls-unique information"). A challengePassword that is present is always checked. Over a DTLS session without the extended
    /// master secret tls-unique links nothing (RFC 7627 §6.1): a CSR with a challengePassword is then refused (4.03), and with this
    /// option every CSR is.
    /// </summary>
    public bool RequirePopLinking { get; set; }

    /// <summary>Max-Age of the 5.03 answer while a request waits for approval (RFC 9148 §4.7).</summary>
    public TimeSpan PendingRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// As a registrar (RFC 9148 §5): Max-Age of the 5.03 answer when the EST server upstream cannot be reached, or answers 503
    /// without Retry-After. A 202 without Retry-After is answered with <see cref="PendingRetryAfter"/>.
    /// </summary>
    public TimeSpan UpstreamRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Map /att (RFC 9148 §4.2: OPTIONAL).</summary>
    public bool EnableCsrAttributes { get; set; } = true;

    /// <summary>Map /skg and /skc (RFC 9148 §4.2: OPTIONAL).</summary>
    public bool EnableServerKeyGeneration { get; set; } = true;

    /// <summary>The /att response items; null uses <see cref="EstCsrAttributes.Default"/>.</summary>
    public IReadOnlyList<EstCsrAttribute>? CsrAttributes { get; set; }

    /// <summary>
    /// Accept client certificates chaining to a trusted manufacturer CA after they expired (RFC 9148 §3 and §9.1: IDevIDs live as
    /// long as the device, the server MAY still authenticate them). Off by default. Certificates from this CA must be current.
    /// </summary>
    public bool AcceptExpiredManufacturerCertificates { get; set; }

    /// <summary>
    /// Secret (at least 32 bytes) from which server-generated keys are derived per request, so that a retransmitted or
    /// repeated /skg or /skc request (also after a 5.03 and across server restarts) returns the same key as the certificate
    /// already issued for it. Null: a random secret per server instance (a pending request then cannot complete after a restart).
    /// Whoever holds it can re-derive every server-generated key: protect it like the CA key.
    /// </summary>
    public byte[]? KeyGenerationSecret { get; set; }

    /// <summary>
    /// The certificate (with private key) that signs the SignedData around an encrypted server-generated key (RFC 7030 §4.4.2:
    /// "signed by the party that generated the private key"); a host sets its own server credential. Null: /skg and /skc answer
    /// 5.00 to requests for an encrypted key (a key in the clear is still delivered).
    /// </summary>
    public X509Certificate2? KeyGenerationSigner { get; set; }

    /// <summary>
    /// CA certificates sent with <see cref="KeyGenerationSigner"/> in the SignedData, so that a client holding only the EST trust
    /// anchor can build the signer's path.
    /// </summary>
    public X509Certificate2Collection KeyGenerationSignerIntermediates { get; } = [];

    /// <summary>
    /// Symmetric key-encryption keys for server-generated keys requested with DecryptKeyIdentifier (RFC 7030 §4.4.1.1): key
    /// identifier in hex → AES key (16, 24 or 32 octets) in base64; configuration <c>Est:KeyEncryptionKeys:0A1B2C…</c>. How the
    /// key reaches the device is outside EST; each device (or batch) should have its own. An unknown identifier gets 4.00.
    /// </summary>
    public IDictionary<string, string> KeyEncryptionKeys { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// EST over HTTPS: whether a profile (by name; <c>default</c> for the one without a label) takes HTTP Basic authentication
    /// (RFC 7030 §3.2.3): a <see cref="EstBasicAuthentication"/> name; configuration
    /// <c>Est:BasicAuthentication:&lt;profile&gt;=Accepted|Required</c>. A profile not named is <see cref="EstBasicAuthentication.Off"/>.
    /// Text rather than the enum, so that a misspelt value stops the start instead of being dropped by the configuration binder.
    /// EST-coaps has no Basic authentication.
    /// </summary>
    public IDictionary<string, string> BasicAuthentication { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// EST-coaps: the profiles (by name; <c>default</c> for the one without a label) whose /crts needs a client authenticated with a
    /// certificate, as the other operations do; configuration <c>Est:RequireClientCertificateForCrts:&lt;profile&gt;=true</c>. A profile
    /// not named serves /crts over any established DTLS session, also one without a client certificate: RFC 7030 §4.1.1 says the
    /// server SHOULD NOT require client authentication for the CA certificates, and the DTLS server is authenticated. Text rather
    /// than bool, so that a misspelt value stops the start instead of being dropped by the configuration binder.
    /// </summary>
    public IDictionary<string, string> RequireClientCertificateForCrts { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The users HTTP Basic authentication admits: user name → <see cref="EstBasicUserOptions"/> (<c>Est:BasicUsers:&lt;name&gt;</c>).</summary>
    public IDictionary<string, EstBasicUserOptions> BasicUsers { get; set; } = new Dictionary<string, EstBasicUserOptions>(StringComparer.Ordinal);

    /// <summary>The realm of the <c>WWW-Authenticate: Basic</c> challenge (RFC 7617 §2).</summary>
    public string BasicRealm { get; set; } = "coapenroll EST";

    /// <summary>
    /// Wrong HTTP Basic passwords (or unknown users) allowed from one address (an IPv6 /64) per <see cref="FailedBasicLoginWindowSeconds"/>;
    /// beyond, 429 without the password being checked (each check costs a PBKDF2 of the configured iterations). 10 by default.
    /// </summary>
    public int MaxFailedBasicLoginsPerAddress { get; set; } = 10;

    /// <summary>The same from all addresses together; 1000 by default.</summary>
    public int MaxFailedBasicLogins { get; set; } = 1000;

    /// <summary>The window those limits count in, in seconds; 300 by default.</summary>
    public int FailedBasicLoginWindowSeconds { get; set; } = 300;

    /// <summary>What is wrong with the failed-login limits, or null.</summary>
    public string? ValidateBasicLimits() =>
        MaxFailedBasicLoginsPerAddress < 1 || MaxFailedBasicLogins < MaxFailedBasicLoginsPerAddress || FailedBasicLoginWindowSeconds < 1
            ? "Est:MaxFailedBasicLoginsPerAddress must be at least 1, Est:MaxFailedBasicLogins at least that, and Est:FailedBasicLoginWindowSeconds at least 1"
            : null;

    /// <summary>
    /// Finds the recipient certificate for an AsymmetricDecryptKeyIdentifier (RFC 7030 §4.4.1.2) beyond the built-in candidates
    /// (the client's DTLS certificates and the active certificates this CA issued with the client's subject). Null result: unknown.
    /// </summary>
    public Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<X509Certificate2?>>? RecipientCertificateResolver { get; set; }
}
