namespace CoapEnroll.Bench;

/// <summary>A named series of values, one per category of its <see cref="ChartPanel"/> (NaN: no bar).</summary>
internal sealed record ChartSeries(string Name, IReadOnlyList<double> Values)
{
    /// <summary>A horizontal reference line.</summary>
    internal sealed record Line(string Name, double Value);
}
