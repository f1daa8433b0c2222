namespace CoapEnroll.Bench;

/// <summary>One run of one <c>serve-load</c> scenario against one server.</summary>
internal sealed record ScenarioResult
{
    public required string Scenario { get; init; }

    public required string Server { get; init; }

    public required string Command { get; init; }

    /// <summary>The GET resource: <c>/test</c> on serve, <c>/</c> on libcoap.</summary>
    public required string Resource { get; init; }

    public int Round { get; init; }

    /// <summary>/proc/loadavg (1, 5, 15 minutes) just before and just after the run.</summary>
    public string LoadAverageBefore { get; init; } = "";

    public string LoadAverageAfter { get; set; } = "";

    public double DurationSeconds { get; init; }

    /// <summary>The measured clients: the 512 of plain, the 16 beside the flood, the DTLS sessions.</summary>
    public LoadSummary? Load { get; set; }

    public double ServerCpuSeconds { get; set; }

    /// <summary>Server CPU over the run divided by every response it sent (the flood's included).</summary>
    public double ServerCpuUsPerRequest { get; set; }

    /// <summary>
    /// This process's CPU (the load generator: every client, the flood, the enrollment probe) from the first request to the end of
    /// the drain; it shares the machine's cores with the server.
    /// </summary>
    public double LoadGeneratorCpuSeconds { get; set; }

    /// <summary><see cref="LoadGeneratorCpuSeconds"/> divided by every response.</summary>
    public double LoadGeneratorCpuUsPerRequest { get; set; }

    /// <summary>serve's managed allocation over the run (startup hook) divided by every response it sent; null for libcoap.</summary>
    public double? ServerAllocatedBytesPerRequest { get; set; }

    public double RssStartMb { get; set; }

    public double RssPeakMb { get; set; }

    public double RssEndMb { get; set; }

    public double RssGrowthMb => RssPeakMb - RssStartMb;

    public IReadOnlyList<double> RssPerSecondMb { get; set; } = [];

    /// <summary>Datagrams the kernel dropped at the server's socket (its receive buffer full), from /proc/net/udp.</summary>
    public long SocketDrops { get; set; }

    public long? FloodSent { get; set; }

    public long? FloodSendErrors { get; set; }

    public long? FloodAnswered { get; set; }

    public long? FloodOk { get; set; }

    public long? FloodServiceUnavailable { get; set; }

    public List<EnrollmentResult>? Enrollments { get; set; }

    /// <summary>Why the run did not complete, if it did not.</summary>
    public string? Error { get; set; }
}
