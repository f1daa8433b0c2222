namespace CoapEnroll.Bench;

/// <summary>One run of the <c>load</c> mode.</summary>
internal sealed record LoadRun
{
    public required string Scenario { get; init; }

    public string Server { get; init; } = "";

    public int Devices { get; init; }

    public int Concurrency { get; init; }

    /// <summary>Operations that succeeded (2.05, a completed handshake, an issued certificate).</summary>
    public long Operations { get; init; }

    public double Seconds { get; init; }

    public double OperationsPerSecond { get; init; }

    public double P50Ms { get; init; }

    public double P90Ms { get; init; }

    public double P99Ms { get; init; }

    public double MaxMs { get; init; }

    public long Failures { get; init; }

    public SortedDictionary<string, long> FailuresByKind { get; init; } = [];

    /// <summary>CoAP retransmissions of the bench's client stack; null for handshake (no CoAP).</summary>
    public long? Retransmissions { get; init; }

    public double? ServerCpuSeconds { get; init; }

    public double? ServerCpuMsPerOperation { get; init; }

    public double? ServerRssPeakMb { get; init; }

    public string LoadAverageBefore { get; init; } = "";

    public string LoadAverageAfter { get; init; } = "";
}
