using System.Diagnostics.Metrics;

namespace CoapEnroll.Cmp;

/// <summary>Instruments of the CMP proxy (<see cref="CmpCoapProxy"/>), published on the meter <c>CoapEnroll.Cmp</c>.</summary>
internal static class CmpProxyMetrics
{
    public const string MeterName = "CoapEnroll.Cmp";

    private static readonly Meter s_meter = new(MeterName);

    /// <summary>Every request the proxy answered, tagged <c>code</c> with the CoAP code it answered (2.04, 4.29, 5.03, 5.04, …).</summary>
    public static readonly Counter<long> Requests = s_meter.CreateCounter<long>("cmp.proxy.requests", "{request}");

    /// <summary>How long the upstream took, for requests that reached it, tagged <c>code</c> as above.</summary>
    public static readonly Histogram<double> UpstreamDuration = s_meter.CreateHistogram<double>("cmp.proxy.upstream.duration", "s");
}
