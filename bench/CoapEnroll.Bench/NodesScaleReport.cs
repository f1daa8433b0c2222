namespace CoapEnroll.Bench;

/// <summary>Everything one <c>nodes-scale</c> run measured, as its JSON.</summary>
internal sealed record NodesScaleReport
{
    public required string Runtime { get; init; }

    public int Cores { get; init; }

    /// <summary>/proc/loadavg (1, 5, 15 minutes) at the start and the end of the run.</summary>
    public required string LoadAverageBefore { get; init; }

    public string LoadAverageAfter { get; set; } = "";

    public string StartedUtc { get; init; } = "";

    public string Names { get; init; } = "";

    /// <summary>How one node is started; DIR is a copy of one initialised data directory, P, Q, T free ports.</summary>
    public string ServeCommand { get; set; } = "";

    /// <summary>PostgreSQL's version and the settings of the throwaway cluster that matter for the figures.</summary>
    public string PostgreSql { get; set; } = "";

    public List<NodesScalePhase> Phases { get; init; } = [];

    /// <summary>Per started configuration: certificates in the PostgreSQL database afterwards against enrollments the clients saw succeed.</summary>
    public List<string> StoreChecks { get; init; } = [];
}
