namespace CoapEnroll.Bench;

/// <summary>Everything one <c>enroll-scale</c> run measured, as its JSON.</summary>
internal sealed record EnrollScaleReport
{
    public required string Runtime { get; init; }

    public int Cores { get; init; }

    /// <summary>/proc/loadavg (1, 5, 15 minutes) at the start and the end of the run.</summary>
    public required string LoadAverageBefore { get; init; }

    public string LoadAverageAfter { get; set; } = "";

    /// <summary>The subjects the enrollments asked for (<c>--names</c>).</summary>
    public string Names { get; init; } = "";

    public string ServeCommand { get; set; } = "";

    public string PskServeCommand { get; set; } = "";

    /// <summary>The key types of serve's issuing CA, server certificate and demo device certificate.</summary>
    public string Keys { get; set; } = "";

    /// <summary>Certificates in the device's Certificate message.</summary>
    public int ChainCertificates { get; set; }

    public BoundResult? Bound { get; set; }

    /// <summary>The CPUs serve and the load generator ran on (<c>--pin</c>); null when they shared every core.</summary>
    public string? Pin { get; init; }

    /// <summary>
    /// <c>--client-cache-rounds</c>: ECDHE handshake phases alternating a client that validates the server's chain every time
    /// (<see cref="CoapEnroll.Dtls.DtlsClientOptions.ServerChainCacheSize"/> 0) with the shipped client, in pairs.
    /// </summary>
    public List<EnrollScaleMode.ScalePhase> ClientCacheRounds { get; init; } = [];

    public List<EnrollScaleMode.ScalePhase> Enrollments { get; init; } = [];

    public List<EnrollScaleMode.ScalePhase> Handshakes { get; init; } = [];

    public string? OpenSslError { get; set; }

    /// <summary>From <c>--serve-load FILE</c>, for the chart.</summary>
    public List<ScenarioSummary>? ServeLoad { get; init; }
}
