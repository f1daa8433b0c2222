using System.Diagnostics.Metrics;

namespace CoapEnroll.Testing;

/// <summary>Records the long measurements of one meter (by name) while it lives, with each measurement's <c>bound</c> tag.</summary>
public sealed class MeterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, long Value, string? Bound)> _measurements = [];

    public MeterRecorder(string meterName)
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == meterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? bound = null;
            foreach (var tag in tags)
            {
                bound = tag.Key == "bound" ? tag.Value as string : bound;
            }

            lock (_measurements)
            {
                _measurements.Add((instrument.Name, value, bound));
            }
        });
        _listener.Start();
    }

    /// <summary>The sum of what <paramref name="instrument"/> recorded, only with tag bound=<paramref name="bound"/> when given.</summary>
    public long Sum(string instrument, string? bound = null)
    {
        lock (_measurements)
        {
            return _measurements.Where(m => m.Instrument == instrument && (bound is null || m.Bound == bound)).Sum(m => m.Value);
        }
    }

    public void Dispose() => _listener.Dispose();
}
