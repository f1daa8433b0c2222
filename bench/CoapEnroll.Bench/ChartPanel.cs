namespace CoapEnroll.Bench;

/// <summary>One panel of an <see cref="SvgChart"/>: categories on x, one bar per series in each.</summary>
internal sealed record ChartPanel(string Title, string XLabel, string YLabel, IReadOnlyList<string> Categories, IReadOnlyList<ChartSeries> Series,
    ChartSeries.Line? Reference = null);
