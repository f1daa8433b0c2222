using System.Diagnostics.Metrics;

namespace CoapEnroll.Coap;

/// <summary>Counters of the CoAP message layer, published on the meter <c>CoapEnroll.Coap</c>.</summary>
internal static class CoapMetrics
{
    public const string MeterName = "CoapEnroll.Coap";

    private static readonly Meter s_meter = new(MeterName);

    public static readonly Counter<long> MessagesReceived = s_meter.CreateCounter<long>("coap.messages.received", "{message}");
    public static readonly Counter<long> MessagesSent = s_meter.CreateCounter<long>("coap.messages.sent", "{message}");
    public static readonly Counter<long> Malformed = s_meter.CreateCounter<long>("coap.messages.malformed", "{message}");
    public static readonly Counter<long> Duplicates = s_meter.CreateCounter<long>("coap.messages.duplicate", "{message}");
    public static readonly Counter<long> DeduplicationEvicted = s_meter.CreateCounter<long>("coap.deduplication.evicted", "{entry}",
        "Duplicate-detection entries older than MAX_TRANSMIT_SPAN given up because the cache was full (raise MaxDeduplicationEntries)");
    public static readonly Counter<long> DeduplicationFull = s_meter.CreateCounter<long>("coap.deduplication.full", "{request}",
        "Requests answered 5.03 because the duplicate-detection cache was full of entries younger than MAX_TRANSMIT_SPAN");
    public static readonly Counter<long> Retransmissions = s_meter.CreateCounter<long>("coap.messages.retransmitted", "{message}");
    public static readonly Counter<long> RequestsHandled = s_meter.CreateCounter<long>("coap.requests.handled", "{request}");
}
