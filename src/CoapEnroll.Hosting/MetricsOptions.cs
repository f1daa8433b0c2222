namespace CoapEnroll.Hosting;

/// <summary>
/// The <c>Metrics</c> configuration section: how the instruments of every CoapEnroll meter (<c>CoapEnroll.*</c>) and of the HTTP
/// listeners leave the process (<see cref="CoapEnrollServiceCollectionExtensions.AddCoapEnrollMonitoring"/>): a Prometheus scrape
/// endpoint, <c>/metrics</c> on http://, and OTLP when <c>Metrics:Otlp:Endpoint</c> is set.
/// </summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Metrics";

    /// <summary>The path of the Prometheus scrape endpoint on http://.</summary>
    public const string ScrapePath = "/metrics";

    /// <summary>
    /// Whether the instruments are collected at all; true by default. False registers no OpenTelemetry: no <see cref="ScrapePath"/>,
    /// no OTLP, and the instruments cost nothing on the request path (with no listener, recording a measurement does nothing).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Whether http:// serves <see cref="ScrapePath"/>; true by default (nothing is served when http:// is disabled).</summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>The OTLP export, off while its endpoint is unset.</summary>
    public OtlpMetricsOptions Otlp { get; set; } = new();

    /// <summary>The problem with the settings, naming the key, or null when they are usable.</summary>
    public string? Validate() => Otlp.Validate();
}
