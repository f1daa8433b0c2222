namespace CoapEnroll.Bench;

/// <summary>What happened to one <see cref="LoadClient"/>'s requests. Written under the client's lock (Malformed: interlocked).</summary>
internal sealed class LoadCounts
{
    /// <summary>Requests started (first transmissions).</summary>
    public long Sent;

    /// <summary>Retransmissions after a timeout.</summary>
    public long Retransmissions;

    /// <summary>Responses by code byte (class &lt;&lt; 5 | detail).</summary>
    public readonly long[] ByCode = new long[256];

    /// <summary>2.05 responses.</summary>
    public long Ok;

    /// <summary>Responses received before the end of the load window (for requests/s).</summary>
    public long AnsweredInWindow;

    /// <summary>Requests given up after their last timeout.</summary>
    public long Failed;

    /// <summary>Requests answered with RST.</summary>
    public long Resets;

    /// <summary>Datagrams that matched no outstanding request (late answers to failed requests, duplicates).</summary>
    public long Unmatched;

    public long Malformed;
}
