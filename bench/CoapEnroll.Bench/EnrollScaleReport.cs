namespace CoapEnroll.Bench;

/// <summary>Everything one <c>enroll-scale</c> run measured, as its JSON.</summary>
internal sealed record EnrollScaleReport
{
    public required string Runtime { get; init; }

    public int Cores { get; init; }

    /// <summary>/proc/loadavg (1, 5, 15 minutes) at the start and the end of the run.</summary>
    public required string LoadAverageBefore { get; init; }

    public string LoadAverageAfter { get; set; } = "";

    /// <summary>
    /// <c>--devices</c>: fresh (a device certificate serve has never seen for every enrollment and ECDHE handshake) or known (serve's
    /// demo device every time). Empty in runs from before the option, which were all known.
    /// </summary>
    public string Devices { get; init; } = "";

    /// <summary>How serve's options differ from its shipped defaults, besides data directory and ports (the command is <see cref="ServeCommand"/>).</summary>
    public string ServeOptions { get; set; } = "";

    /// <summary>Device certificates the producer made (<c>--devices fresh</c>); null otherwise.</summary>
    public int? DeviceCertificatesIssued { get; set; }

    /// <summary>Operations, warm-up included, that waited for a device certificate (<c>--devices fresh</c>); null otherwise.</summary>
    public long? DeviceCertificateWaits { get; set; }

    /// <summary>The subjects the enrollments asked for (<c>--names</c>).</summary>
    public string Names { get; init; } = "";

    public string ServeCommand { get; set; } = "";

    public string PskServeCommand { get; set; } = "";

    /// <summary>The key types of serve's issuing CA, server certificate and device certificate.</summary>
    public string Keys { get; set; } = "";

    /// <summary>Certificates in the device's Certificate message; the bound counts one verify for each.</summary>
    public int ChainCertificates { get; set; }

    public BoundResult? Bound { get; set; }

    /// <summary>
    /// <c>--device-addresses</c>: how many loopback source addresses the devices of the certificate phases take in turn. serve bounds
    /// handshakes in progress per source address (<c>Dtls:MaxHandshakesPerAddress</c>, 64), as devices behind one NAT would meet it.
    /// Empty in runs from before the option, which were all from 127.0.0.1.
    /// </summary>
    public string DeviceAddresses { get; init; } = "";

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
