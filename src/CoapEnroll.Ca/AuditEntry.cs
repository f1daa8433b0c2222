namespace CoapEnroll.Ca;

/// <summary>An audit log row: who did what, when.</summary>
public sealed record AuditEntry
{
    /// <summary>Longest stored details text; longer text is cut.</summary>
    public const int MaxDetailsLength = 2048;

    /// <summary>Store-assigned id.</summary>
    public long Id { get; init; }

    /// <summary>When.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>Who (requester identity, operator name, "system").</summary>
    public required string Actor { get; init; }

    /// <summary>What: issue, pending, approve, reject, rejected-request, supersede, status.</summary>
    public required string Action { get; init; }

    /// <summary>Free text (serial, subject, request id, reason).</summary>
    public required string Details { get; init; }
}
