using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace CoapEnroll.Ca;

/// <summary>Instruments of the CA engine, published on the meter <c>CoapEnroll.Ca</c>.</summary>
internal static class CaMetrics
{
    public const string MeterName = "CoapEnroll.Ca";

    private static readonly Meter s_meter = new(MeterName);

    // Durations in seconds from 0.5 ms to 10 s: an exporter's default buckets (0, 5, 10, 25, ...) are made for milliseconds.
    private static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    // The pending counts of the CAs alive in this process (one in a server); the table does not keep a CA alive.
    private static readonly ConditionalWeakTable<PendingRequestCount, object?> s_pendingCounts = [];

    public static readonly Counter<long> Issued = s_meter.CreateCounter<long>("ca.certificates.issued", "{certificate}");
    public static readonly Counter<long> Rejected = s_meter.CreateCounter<long>("ca.requests.rejected", "{request}");
    public static readonly Counter<long> Pending = s_meter.CreateCounter<long>("ca.requests.pending", "{request}");
    public static readonly Counter<long> PendingRefused = s_meter.CreateCounter<long>("ca.requests.pending_refused", "{request}",
        "Requests needing approval refused because too many wait already, tagged bound=identity (Ca:MaxPendingRequestsPerIdentity) "
        + "or global (Ca:MaxPendingRequests); nothing of them is stored");
    public static readonly Counter<long> Repeated = s_meter.CreateCounter<long>("ca.requests.repeated", "{request}");
    public static readonly Counter<long> Revoked = s_meter.CreateCounter<long>("ca.certificates.revoked", "{certificate}");
    public static readonly Counter<long> SerialCollisions = s_meter.CreateCounter<long>("ca.serial.collisions", "{collision}");
    public static readonly Histogram<double> IssuanceDuration = s_meter.CreateHistogram<double>("ca.issuance.duration", "s", null, null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    /// <summary>How long each call of the store took, tagged <c>operation</c> and on failure <c>error.type</c> (<see cref="InstrumentedCertificateStore"/>).</summary>
    public static readonly Histogram<double> StoreDuration = s_meter.CreateHistogram<double>("ca.store.duration", "s",
        "Duration of certificate store calls, tagged operation (AddIssued, GetRequestByKey, ...) and error.type when the call failed", null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    /// <summary>Requests waiting for an operator now, as last read from the store (<see cref="PendingRequestCount"/>).</summary>
    public static readonly ObservableGauge<long> AwaitingApproval = s_meter.CreateObservableGauge("ca.requests.awaiting_approval", ObservePending,
        "{request}", "Requests waiting for approval in the store, as last read (at most about 10 s old when collected regularly)");

    /// <summary>Makes <paramref name="count"/> part of <see cref="AwaitingApproval"/> while it lives.</summary>
    public static void Register(PendingRequestCount count) => s_pendingCounts.AddOrUpdate(count, null);

    private static IEnumerable<Measurement<long>> ObservePending()
    {
        foreach ((PendingRequestCount count, _) in s_pendingCounts)
        {
            if (count.Observe() is long value)
            {
                yield return new Measurement<long>(value);
            }
        }
    }
}
