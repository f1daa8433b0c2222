namespace CoapEnroll.Hosting;

/// <summary>The <c>Metrics:Otlp</c> configuration section: pushing the metrics to an OpenTelemetry collector (OTLP), off by default.</summary>
public sealed class OtlpMetricsOptions
{
    /// <summary>The protocol value for OTLP over gRPC (the collector's port 4317).</summary>
    public const string Grpc = "grpc";

    /// <summary>The protocol value for OTLP over HTTP with protobuf bodies (the collector's port 4318).</summary>
    public const string HttpProtobuf = "http/protobuf";

    /// <summary>
    /// Where to export: unset (the default) exports nothing. For <see cref="Grpc"/> the collector's address
    /// (<c>http://collector:4317</c>); for <see cref="HttpProtobuf"/> the full URL of its metrics path
    /// (<c>http://collector:4318/v1/metrics</c>), which is used as given.
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary><see cref="Grpc"/> (the default) or <see cref="HttpProtobuf"/>.</summary>
    public string Protocol { get; set; } = Grpc;

    /// <summary>Headers sent with every export, <c>name=value</c> pairs separated by commas (e.g. an API key); none by default.</summary>
    public string? Headers { get; set; }

    /// <summary>How often the metrics are exported, in seconds; 60 by default.</summary>
    public int ExportIntervalSeconds { get; set; } = 60;

    /// <summary>How long one export may take, in seconds; 10 by default.</summary>
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>Whether an endpoint is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Endpoint);

    /// <summary>The endpoint as a URI; only when <see cref="Validate"/> found no problem and <see cref="Enabled"/>.</summary>
    public Uri EndpointUri => new(Endpoint!.Trim(), UriKind.Absolute);

    /// <summary>The problem with the settings, naming the key, or null when they are usable (also when no endpoint is set).</summary>
    public string? Validate()
    {
        if (!Enabled)
        {
            return null;
        }

        if (!Uri.TryCreate(Endpoint!.Trim(), UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return $"Metrics:Otlp:Endpoint '{Endpoint}' is not an http:// or https:// URL.";
        }

        if (Protocol is not (Grpc or HttpProtobuf))
        {
            return $"Metrics:Otlp:Protocol '{Protocol}' is neither {Grpc} nor {HttpProtobuf}.";
        }

        if (ExportIntervalSeconds is < 1 or > 86_400)
        {
            return $"Metrics:Otlp:ExportIntervalSeconds {ExportIntervalSeconds} must be between 1 and 86400.";
        }

        if (TimeoutSeconds is < 1 or > 600)
        {
            return $"Metrics:Otlp:TimeoutSeconds {TimeoutSeconds} must be between 1 and 600.";
        }

        return Headers is { Length: > 0 } headers && headers.Split(',').Any(h => h.IndexOf('=', StringComparison.Ordinal) <= 0)
            ? "Metrics:Otlp:Headers must be name=value pairs separated by commas."
            : null;
    }
}
