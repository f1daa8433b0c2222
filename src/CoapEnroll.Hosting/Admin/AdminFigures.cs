using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CoapEnroll.Hosting;

/// <summary>
/// The CA's counters (meter <c>CoapEnroll.Ca</c>: certificates issued and revoked, requests rejected, held for approval, repeated)
/// summed since this listener started, for the operator page. A <see cref="MeterListener"/> sees every instance of the meter in the
/// process, so in a process running several hosts (tests) the sums are the process's.
/// </summary>
internal sealed class AdminFigures : IDisposable
{
    private const string MeterName = "CoapEnroll.Ca";

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _sums = new(StringComparer.Ordinal);

    public AdminFigures()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName && instrument is Counter<long>)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
        _listener.Start();
    }

    /// <summary>The counters by instrument name (e.g. <c>ca.certificates.issued</c>), sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Snapshot() => [.. _sums.OrderBy(s => s.Key, StringComparer.Ordinal)];

    public void Dispose() => _listener.Dispose();
}
