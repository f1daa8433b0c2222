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
    public static readonly Counter<long> DeduplicationBoundHit = s_meter.CreateCounter<long>("coap.deduplication.bound_hit", "{message}",
        "Messages for which duplicate detection forgot older exchanges, tagged bound=peer (the sender's own oldest, "
        + "MaxDeduplicationEntriesPerPeer) or bound=global (the least recently active peers, MaxDeduplicationEntries)");
    public static readonly Counter<long> BlockWiseBoundHit = s_meter.CreateCounter<long>("coap.blockwise.bound_hit", "{block}",
        "Block1 blocks refused because Block1 reassembly held as much as a bound allows, tagged bound=peer, address, unauthenticated "
        + "(the unauthenticated peers' share) or global, and authenticated=true or false (the refused peer)");
    public static readonly Counter<long> ObserveBoundHit = s_meter.CreateCounter<long>("coap.observe.bound_hit", "{registration}",
        "Observe registrations served as plain GETs because a bound was reached, tagged bound=peer (MaxObserversPerPeer), address "
        + "(MaxObserversPerAddress), resource (MaxObserversPerResource) or global (MaxObservers)");
    public static readonly UpDownCounter<long> ObserveRegistrations = s_meter.CreateUpDownCounter<long>("coap.observe.registrations",
        "{registration}", "Observe registrations held on all resources");
    public static readonly Counter<long> MessageIdBoundHit = s_meter.CreateCounter<long>("coap.message_ids.bound_hit", "{peer}",
        "Peers whose message IDs were forgotten within EXCHANGE_LIFETIME to make room for another (MaxMessageIdPeers)");
    public static readonly Counter<long> ResponsesDropped = s_meter.CreateCounter<long>("coap.responses.dropped", "{response}",
        "Non-confirmable responses not sent because every message ID for that peer was used within EXCHANGE_LIFETIME "
        + "(RFC 7252 §4.4: more than about 250 a second for minutes), tagged reason=message_id");
    public static readonly Counter<long> RequestsRefused = s_meter.CreateCounter<long>("coap.requests.refused", "{request}",
        "Requests refused because as many of their peer's (bound=peer, 4.29), their source address's (bound=address, 4.29) or all "
        + "peers' (bound=global, 5.03) were in progress (MaxRequestsInProgressPerPeer, …PerAddress, MaxRequestsInProgress)");
    public static readonly Counter<long> Retransmissions = s_meter.CreateCounter<long>("coap.messages.retransmitted", "{message}");
    public static readonly Counter<long> RequestsHandled = s_meter.CreateCounter<long>("coap.requests.handled", "{request}");

    /// <summary>Responses to requests this endpoint handled, piggybacked, non-confirmable or separate, tagged <c>code</c> ("2.05", "4.04", ...).</summary>
    public static readonly Counter<long> Responses = s_meter.CreateCounter<long>("coap.responses", "{response}",
        "Responses to the requests this endpoint handled, tagged code (2.05, 4.04, 5.03, ...)");

    // One string per code, made once: the tag of every response, on the receive path.
    private static readonly string?[] s_codeTags = new string?[256];

    public static void CountResponse(CoapCode code)
    {
        string tag = s_codeTags[code.Value] ??= code.ToString();
        Responses.Add(1, new KeyValuePair<string, object?>("code", tag));
    }
}
