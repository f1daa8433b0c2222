using System.Diagnostics.Tracing;

namespace CoapEnroll.Bench;

/// <summary>
/// Which types a hot loop allocates, from the runtime's GCAllocationTick events (one per ~100 KB allocated, naming
/// the type of the object that crossed the threshold): a sampled breakdown, good enough to rank the allocations of
/// a loop that allocates the same objects every iteration. Used by <c>loop OP N types</c>.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const int GCAllocationTickEventId = 10;
    private const long GCKeyword = 0x1;

    private readonly Dictionary<string, long> _bytesByType = [];
    private readonly Lock _lock = new();
    private volatile bool _recording;

    public void Start() => _recording = true;

    public IReadOnlyList<(string Type, double Share)> Stop()
    {
        _recording = false;
        lock (_lock)
        {
            double total = _bytesByType.Values.Sum();
            return [.. _bytesByType.OrderByDescending(p => p.Value).Select(p => (p.Key, p.Value / total))];
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)GCKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventId != GCAllocationTickEventId || eventData.PayloadNames is null)
        {
            return;
        }

        int typeIndex = eventData.PayloadNames.IndexOf("TypeName");
        int amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || amountIndex < 0)
        {
            return;
        }

        string type = eventData.Payload![typeIndex] as string ?? "?";
        long amount = Convert.ToInt64(eventData.Payload[amountIndex], System.Globalization.CultureInfo.InvariantCulture);
        lock (_lock)
        {
            _bytesByType[type] = _bytesByType.GetValueOrDefault(type) + amount;
        }
    }
}
