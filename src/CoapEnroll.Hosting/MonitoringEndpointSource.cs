using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace CoapEnroll.Hosting;

/// <summary>
/// The operations endpoints on http:// (<see cref="CoapEnrollServiceCollectionExtensions.AddCoapEnrollMonitoring"/>):
/// <c>/metrics</c>, the Prometheus scrape endpoint of the host's <see cref="MeterProvider"/> (unless <c>Metrics:Enabled</c> or
/// <c>Metrics:Prometheus</c> is false); <c>/healthz</c>, 200 while the process serves HTTP; <c>/readyz</c>, 200 when the store answers a cheap query within
/// <c>Health:StoreTimeoutSeconds</c>, else 503 with a one-line reason (<see cref="StoreReadiness"/>). Plain text, never cached.
/// </summary>
public sealed class MonitoringEndpointSource : IHttpEndpointSource
{
    /// <summary>The liveness path.</summary>
    public const string HealthPath = "/healthz";

    /// <summary>The readiness path.</summary>
    public const string ReadyPath = "/readyz";

    private readonly MetricsOptions _metrics;
    private readonly MeterProvider? _meterProvider;
    private readonly StoreReadiness _readiness;

    /// <param name="metrics">The <c>Metrics</c> section.</param>
    /// <param name="meterProvider">The host's provider with its Prometheus exporter; null when metrics are not collected (no <c>/metrics</c>).</param>
    /// <param name="readiness">The check behind <c>/readyz</c>.</param>
    public MonitoringEndpointSource(IOptions<MetricsOptions> metrics, MeterProvider? meterProvider, StoreReadiness readiness)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(readiness);
        _metrics = metrics.Value;
        _meterProvider = meterProvider;
        _readiness = readiness;
    }

    /// <inheritdoc/>
    public HttpListenerKind Listeners => HttpListenerKind.Http;

    /// <inheritdoc/>
    public void MapEndpoints(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (_meterProvider is not null && _metrics.Enabled && _metrics.Prometheus)
        {
            // The provider is passed in: the listener's own application has neither it nor the exporter's options in its container.
            endpoints.MapPrometheusScrapingEndpoint(MetricsOptions.ScrapePath, _meterProvider, configureBranchedPipeline: null, optionsName: null);
        }

        endpoints.MapGet(HealthPath, (HttpContext context) => WriteAsync(context, StatusCodes.Status200OK, "ok"));
        endpoints.MapGet(ReadyPath, async (HttpContext context) =>
        {
            string? reason = await _readiness.CheckAsync(context.RequestAborted);
            await (reason is null
                ? WriteAsync(context, StatusCodes.Status200OK, "ready")
                : WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "not ready: " + reason));
        });
    }

    private static Task WriteAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }
}
