namespace CoapEnroll.Cmp;

/// <summary>One PollRepContent entry: certReqId, checkAfter (seconds) and reason.</summary>
public sealed class PollRepEntry
{
    /// <summary>certReqId.</summary>
    public long CertReqId { get; init; }

    /// <summary>checkAfter, in seconds.</summary>
    public long CheckAfter { get; init; }

    /// <summary>reason.</summary>
    public IReadOnlyList<string>? Reason { get; init; }
}
