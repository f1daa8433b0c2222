using System.Diagnostics.Metrics;

namespace CoapEnroll.Ca;

/// <summary>Instruments of the CA engine, published on the meter <c>CoapEnroll.Ca</c>.</summary>
internal static class CaMetrics
{
    public const string MeterName = "CoapEnroll.Ca";

    private static readonly Meter s_meter = new(MeterName);

    public static readonly Counter<long> Issued = s_meter.CreateCounter<long>("ca.certificates.issued", "{certificate}");
    public static readonly Counter<long> Rejected = s_meter.CreateCounter<long>("ca.requests.rejected", "{request}");
    public static readonly Counter<long> Pending = s_meter.CreateCounter<long>("ca.requests.pending", "{request}");
    public static readonly Counter<long> PendingRefused = s_meter.CreateCounter<long>("ca.requests.pending_refused", "{request}",
        "Requests needing approval refused because too many wait already, tagged bound=identity (Ca:MaxPendingRequestsPerIdentity) "
        + "or global (Ca:MaxPendingRequests); nothing of them is stored");
    public static readonly Counter<long> Repeated = s_meter.CreateCounter<long>("ca.requests.repeated", "{request}");
    public static readonly Counter<long> Revoked = s_meter.CreateCounter<long>("ca.certificates.revoked", "{certificate}");
    public static readonly Counter<long> SerialCollisions = s_meter.CreateCounter<long>("ca.serial.collisions", "{collision}");
    public static readonly Histogram<double> IssuanceDuration = s_meter.CreateHistogram<double>("ca.issuance.duration", "s");
}
