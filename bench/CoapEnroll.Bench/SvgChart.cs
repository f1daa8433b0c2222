using System.Globalization;
using System.Security;
using System.Text;

namespace CoapEnroll.Bench;

/// <summary>
/// A small SVG writer for the bench's charts: panels of grouped bars side by side, each with its own y axis from 0 and an
/// optional dashed reference line. Hand-written so that the bench needs no charting package.
/// </summary>
internal static class SvgChart
{
    private const int PanelWidth = 360;
    private const int PanelHeight = 280;
    private const int Left = 64;
    private const int Top = 48;
    private const int Bottom = 56;
    private const int Right = 16;

    private static readonly string[] Colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

    /// <summary>Writes <paramref name="panels"/> left to right under <paramref name="title"/>.</summary>
    public static string Render(string title, IReadOnlyList<ChartPanel> panels)
    {
        int width = Math.Max(1, panels.Count) * PanelWidth;
        int height = PanelHeight + 40;
        var svg = new StringBuilder();
        svg.AppendLine(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">");
        svg.AppendLine(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{Escape(title)}</text>");
        for (int i = 0; i < panels.Count; i++)
        {
            RenderPanel(svg, panels[i], i * PanelWidth, 30);
        }

        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void RenderPanel(StringBuilder svg, ChartPanel panel, int x0, int y0)
    {
        double plotWidth = PanelWidth - Left - Right;
        double plotHeight = PanelHeight - Top - Bottom;
        double left = x0 + Left;
        double top = y0 + Top;
        double bottom = top + plotHeight;
        double max = panel.Series.SelectMany(s => s.Values).Where(double.IsFinite).DefaultIfEmpty(0).Max();

        // A reference far above the bars would flatten them: it is then written as text instead of drawn as a line.
        bool referenceOnScale = panel.Reference is { } reference && double.IsFinite(reference.Value) && (max <= 0 || reference.Value <= 3 * max);
        if (referenceOnScale)
        {
            max = Math.Max(max, panel.Reference!.Value);
        }

        double scaleTop = NiceCeiling(max);
        svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{x0 + (PanelWidth / 2)}\" y=\"{y0 + 14}\" text-anchor=\"middle\" font-size=\"12\">{Escape(panel.Title)}</text>");
        svg.AppendLine(CultureInfo.InvariantCulture,
            $"<text transform=\"translate({x0 + 14},{F(top + (plotHeight / 2))}) rotate(-90)\" text-anchor=\"middle\">{Escape(panel.YLabel)}</text>");

        // y axis: five gridlines from 0 to the rounded-up maximum.
        for (int g = 0; g <= 4; g++)
        {
            double value = scaleTop * g / 4;
            double y = bottom - (plotHeight * g / 4);
            svg.AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{F(left)}\" x2=\"{F(left + plotWidth)}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#ddd\"/>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{F(left - 4)}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{Escape(Label(value))}</text>");
        }

        svg.AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{F(left)}\" x2=\"{F(left)}\" y1=\"{F(top)}\" y2=\"{F(bottom)}\" stroke=\"black\"/>");
        svg.AppendLine(CultureInfo.InvariantCulture, $"<line x1=\"{F(left)}\" x2=\"{F(left + plotWidth)}\" y1=\"{F(bottom)}\" y2=\"{F(bottom)}\" stroke=\"black\"/>");

        int groups = panel.Categories.Count;
        int series = Math.Max(1, panel.Series.Count);
        double groupWidth = plotWidth / Math.Max(1, groups);
        double barWidth = groupWidth * 0.8 / series;
        for (int c = 0; c < groups; c++)
        {
            double groupLeft = left + (groupWidth * c) + (groupWidth * 0.1);
            svg.AppendLine(CultureInfo.InvariantCulture,
                $"<text x=\"{F(left + (groupWidth * (c + 0.5)))}\" y=\"{F(bottom + 14)}\" text-anchor=\"middle\">{Escape(panel.Categories[c])}</text>");
            for (int s = 0; s < panel.Series.Count; s++)
            {
                double value = c < panel.Series[s].Values.Count ? panel.Series[s].Values[c] : double.NaN;
                if (!double.IsFinite(value) || scaleTop <= 0)
                {
                    continue;
                }

                double h = plotHeight * value / scaleTop;
                double x = groupLeft + (barWidth * s);
                svg.AppendLine(CultureInfo.InvariantCulture,
                    $"<rect x=\"{F(x)}\" y=\"{F(bottom - h)}\" width=\"{F(barWidth * 0.95)}\" height=\"{F(h)}\" fill=\"{Colours[s % Colours.Length]}\"><title>{Escape($"{panel.Series[s].Name} {panel.Categories[c]}: {Label(value)}")}</title></rect>");
                svg.AppendLine(CultureInfo.InvariantCulture,
                    $"<text x=\"{F(x + (barWidth / 2))}\" y=\"{F(bottom - h - 3)}\" text-anchor=\"middle\" font-size=\"9\">{Escape(Label(value))}</text>");
            }
        }

        if (panel.Reference is { } above && double.IsFinite(above.Value) && !referenceOnScale)
        {
            svg.AppendLine(CultureInfo.InvariantCulture,
                $"<text x=\"{F(left + plotWidth)}\" y=\"{F(top - 4)}\" text-anchor=\"end\" fill=\"#d62728\">{Escape($"{above.Name} {Label(above.Value)} (above the scale)")}</text>");
        }
        else if (panel.Reference is { } line && double.IsFinite(line.Value) && scaleTop > 0)
        {
            double y = bottom - (plotHeight * line.Value / scaleTop);
            svg.AppendLine(CultureInfo.InvariantCulture,
                $"<line x1=\"{F(left)}\" x2=\"{F(left + plotWidth)}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#d62728\" stroke-dasharray=\"5,3\"/>");
            svg.AppendLine(CultureInfo.InvariantCulture,
                $"<text x=\"{F(left + plotWidth)}\" y=\"{F(y - 3)}\" text-anchor=\"end\" fill=\"#d62728\">{Escape($"{line.Name} {Label(line.Value)}")}</text>");
        }

        // Legend under the x labels.
        double legendX = left;
        for (int s = 0; s < panel.Series.Count; s++)
        {
            svg.AppendLine(CultureInfo.InvariantCulture,
                $"<rect x=\"{F(legendX)}\" y=\"{F(bottom + 24)}\" width=\"10\" height=\"10\" fill=\"{Colours[s % Colours.Length]}\"/>");
            svg.AppendLine(CultureInfo.InvariantCulture, $"<text x=\"{F(legendX + 13)}\" y=\"{F(bottom + 33)}\">{Escape(panel.Series[s].Name)}</text>");
            legendX += 20 + (6.5 * panel.Series[s].Name.Length);
        }

        if (!string.IsNullOrEmpty(panel.XLabel))
        {
            svg.AppendLine(CultureInfo.InvariantCulture,
                $"<text x=\"{F(left + (plotWidth / 2))}\" y=\"{F(bottom + 50)}\" text-anchor=\"middle\">{Escape(panel.XLabel)}</text>");
        }
    }

    /// <summary>The smallest of 1, 2, 2.5, 5 × 10^k at or above <paramref name="value"/> (1 for 0 or less).</summary>
    internal static double NiceCeiling(double value)
    {
        if (!(value > 0))
        {
            return 1;
        }

        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (double step in (ReadOnlySpan<double>)[1, 2, 2.5, 5, 10])
        {
            if (step * magnitude >= value * (1 - 1e-12))
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }

    private static string Label(double value) =>
        value >= 100 ? value.ToString("N0", CultureInfo.InvariantCulture)
        : value >= 10 ? value.ToString("F1", CultureInfo.InvariantCulture)
        : value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("F1", CultureInfo.InvariantCulture);

    private static string Escape(string text) => SecurityElement.Escape(text);
}
