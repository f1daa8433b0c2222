namespace CoapEnroll.Cmp;

/// <summary>Settings of the CMP server (configuration section <c>Cmp</c>).</summary>
public sealed class CmpServerOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Cmp";

    /// <summary>Serve CMP at all (CoAP and HTTP).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// What signs answers that are not MAC-protected; unset: the issuing CA's key when it is on a PKCS#11 token
    /// (<c>Ca:KeyProvider=Pkcs11</c>) and its certificate allows digitalSignature, else the server credential.
    /// </summary>
    public CmpProtectionKeySource? ProtectionKey { get; set; }

    /// <summary>MAC references and their secrets.</summary>
    public Dictionary<string, CmpSharedSecretOptions> SharedSecrets { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The fewest PasswordBasedMac / PBKDF2 iterations accepted. 500 is what <c>openssl cmp</c> sends; RFC 9481 §6.1 asks for more
    /// (raise it where every client can).
    /// </summary>
    public int MinIterations { get; set; } = 500;

    /// <summary>The most iterations computed for one message: a request may not make the server hash without bound.</summary>
    public int MaxIterations { get; set; } = 100_000;

    /// <summary>Accept PasswordBasedMac with HMAC-SHA1 or a SHA-1 one-way function (<c>openssl cmp</c>'s default <c>-mac hmac-sha1</c>).</summary>
    public bool AllowHmacSha1 { get; set; } = true;

    /// <summary>Iterations of the PasswordBasedMac/PBMAC1 protecting answers to MAC-protected requests.</summary>
    public int ResponseIterations { get; set; } = 1000;

    /// <summary>Grant implicit confirmation (RFC 9483 §4.1.1) when a request asks for it; otherwise every issuance waits for certConf.</summary>
    public bool GrantImplicitConfirm { get; set; } = true;

    /// <summary>How long an issued certificate waits for certConf before it is revoked (RFC 9810 §5.1.1.2 confirmWaitTime).</summary>
    public TimeSpan ConfirmWaitTime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far a request's messageTime may be from the server's clock (badTime beyond).</summary>
    public TimeSpan MessageTimeTolerance { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a transaction waiting for an operator stays open for pollReq.</summary>
    public TimeSpan PendingLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The largest PKIMessage accepted, in bytes (CoAP 4.13 / HTTP 413 beyond).</summary>
    public int MaxMessageSize { get; set; } = 64 * 1024;

    /// <summary>Open transactions (waiting for certConf or an operator) over all requesters.</summary>
    public int MaxOpenTransactions { get; set; } = 10_000;

    /// <summary>Open transactions of one requester: one device cannot fill the table.</summary>
    public int MaxOpenTransactionsPerRequester { get; set; } = 16;

    /// <summary>Transaction IDs and nonces remembered to refuse replays, over all requesters.</summary>
    public int MaxRememberedIds { get; set; } = 200_000;

    /// <summary>Transaction IDs and nonces remembered per requester; its oldest are forgotten first.</summary>
    public int MaxRememberedIdsPerRequester { get; set; } = 2_000;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        Check(MinIterations >= 1, nameof(MinIterations), "at least 1");
        Check(MaxIterations >= MinIterations, nameof(MaxIterations), "at least MinIterations");
        Check(ResponseIterations >= MinIterations && ResponseIterations <= MaxIterations, nameof(ResponseIterations), "between MinIterations and MaxIterations");
        Check(ConfirmWaitTime > TimeSpan.Zero, nameof(ConfirmWaitTime), "positive");
        Check(MessageTimeTolerance > TimeSpan.Zero, nameof(MessageTimeTolerance), "positive");
        Check(PendingLifetime > TimeSpan.Zero, nameof(PendingLifetime), "positive");
        Check(MaxMessageSize is >= 256 and <= 16 * 1024 * 1024, nameof(MaxMessageSize), "between 256 and 16 MiB");
        Check(MaxOpenTransactions >= 1, nameof(MaxOpenTransactions), "at least 1");
        Check(MaxOpenTransactionsPerRequester is >= 1 && MaxOpenTransactionsPerRequester <= MaxOpenTransactions, nameof(MaxOpenTransactionsPerRequester), "between 1 and MaxOpenTransactions");
        Check(MaxRememberedIds >= 1, nameof(MaxRememberedIds), "at least 1");
        Check(MaxRememberedIdsPerRequester >= 1 && MaxRememberedIdsPerRequester <= MaxRememberedIds, nameof(MaxRememberedIdsPerRequester), "between 1 and MaxRememberedIds");
        foreach ((string reference, CmpSharedSecretOptions secret) in SharedSecrets)
        {
            Check(reference.Length is > 0 and <= 128, $"SharedSecrets:{reference}", "a reference of 1 to 128 characters");
            Check(!string.IsNullOrEmpty(secret.Secret), $"SharedSecrets:{reference}:Secret", "set");
        }
    }

    private static void Check(bool condition, string name, string expected)
    {
        if (!condition)
        {
            throw new ArgumentOutOfRangeException($"Cmp:{name}", $"Cmp:{name} must be {expected}.");
        }
    }
}
