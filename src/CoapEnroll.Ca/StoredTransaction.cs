namespace CoapEnroll.Ca;

/// <summary>
/// The state of a protocol transaction that spans several messages (a CMP transaction waiting for certConf or pollReq), kept in
/// the store so that whichever node receives the next message can continue it (<see cref="ITransactionStore"/>). The store does
/// not read <see cref="Data"/>: its layout is the protocol's.
/// </summary>
public sealed record StoredTransaction
{
    /// <summary>Longest <see cref="Id"/>.</summary>
    public const int MaxIdLength = 200;

    /// <summary>Largest <see cref="Data"/>, in bytes.</summary>
    public const int MaxDataLength = 256 * 1024;

    /// <summary>The transaction's key, unique over all protocols (the protocol prefixes its own identifier, e.g. <c>cmp:</c>).</summary>
    public required string Id { get; init; }

    /// <summary>Who may continue it (the requester's name).</summary>
    public required string Owner { get; init; }

    /// <summary>What it is about, to find it by (e.g. the serial number of a certificate awaiting confirmation); may be null.</summary>
    public string? Reference { get; init; }

    /// <summary>The protocol's state, opaque to the store.</summary>
    public required byte[] Data { get; init; }

    /// <summary>
    /// When it is given up (an open transaction) or forgotten (a closed one): <see cref="ITransactionStore.TakeExpiredTransactionsAsync"/>
    /// hands it to exactly one caller from then on.
    /// </summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>
    /// Finished: kept only so that its <see cref="Id"/> is not used again before <see cref="ExpiresAt"/>; no message continues it.
    /// </summary>
    public bool Closed { get; init; }

    /// <summary>
    /// Set by the store: 1 when added, one more on every update. An update names the version it read, so of two nodes changing
    /// the same transaction at once only one succeeds.
    /// </summary>
    public long Version { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> when a field is out of range.</summary>
    internal void Validate()
    {
        if (Id.Length is 0 or > MaxIdLength)
        {
            throw new ArgumentException($"a transaction id of 1 to {MaxIdLength} characters", nameof(Id));
        }

        ArgumentException.ThrowIfNullOrEmpty(Owner);
        ArgumentNullException.ThrowIfNull(Data);
        if (Data.Length > MaxDataLength)
        {
            throw new ArgumentException($"transaction data of at most {MaxDataLength} bytes (got {Data.Length})", nameof(Data));
        }
    }
}
