namespace CoapEnroll.Bench;

/// <summary>
/// One measured phase of <c>nodes-scale</c>: a store and a number of serve nodes at one concurrency, with its ratios to the SQLite
/// node of the same round and concurrency.
/// </summary>
internal sealed record NodesScalePhase
{
    public int Round { get; init; }

    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    public required string Store { get; init; }

    public int Nodes { get; init; }

    /// <summary>Enrollments/s, latency, failures, CPU of the serve processes summed (and of PostgreSQL's processes).</summary>
    public required EnrollScaleMode.ScalePhase Result { get; init; }

    /// <summary>Enrollments/s divided by the SQLite node's in the same round at the same concurrency.</summary>
    public double RateRatio { get; set; } = double.NaN;

    /// <summary>serve CPU per enrollment (all nodes) divided by the SQLite node's.</summary>
    public double ServeCpuRatio { get; set; } = double.NaN;

    /// <summary>serve + PostgreSQL CPU per enrollment divided by the SQLite node's serve CPU (SQLite runs inside serve).</summary>
    public double TotalCpuRatio { get; set; } = double.NaN;
}
