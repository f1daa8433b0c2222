using System.Globalization;
using System.Text.RegularExpressions;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>The samples of a Prometheus text exposition (format 0.0.4), as a scraper reads them: name, labels, value.</summary>
public sealed partial class PrometheusText
{
    private readonly List<(string Name, IReadOnlyDictionary<string, string> Labels, double Value)> _samples = [];

    public PrometheusText(string text)
    {
        Text = text;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            Match sample = Sample().Match(line);
            Assert.True(sample.Success, $"not a Prometheus sample line: {line}");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in Label().Matches(sample.Groups["labels"].Value))
            {
                labels[label.Groups[1].Value] = label.Groups[2].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            }

            _samples.Add((sample.Groups["name"].Value, labels, ParseValue(sample.Groups["value"].Value)));
        }
    }

    /// <summary>The exposition as scraped, for assertion messages.</summary>
    public string Text { get; }

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include every one of <paramref name="labels"/> ("key=value").</summary>
    public double Sum(string name, params string[] labels) => Matching(name, labels).Sum(s => s.Value);

    /// <summary>Whether a sample named <paramref name="name"/> has every one of <paramref name="labels"/>.</summary>
    public bool Has(string name, params string[] labels) => Matching(name, labels).Any();

    private IEnumerable<(string Name, IReadOnlyDictionary<string, string> Labels, double Value)> Matching(string name, string[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l =>
        {
            int equals = l.IndexOf('=', StringComparison.Ordinal);
            return s.Labels.TryGetValue(l[..equals], out string? value) && value == l[(equals + 1)..];
        }));

    private static double ParseValue(string value) => value switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+-?\d+)?$""")]
    private static partial Regex Sample();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?""")]
    private static partial Regex Label();
}
