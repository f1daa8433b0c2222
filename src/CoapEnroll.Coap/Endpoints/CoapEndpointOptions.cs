namespace CoapEnroll.Coap;

/// <summary>Transmission parameters and limits of a <see cref="CoapEndpoint"/>.</summary>
/// <remarks>
/// Defaults are those of RFC 7252 §4.8: ACK_TIMEOUT 2 s, ACK_RANDOM_FACTOR 1.5, MAX_RETRANSMIT 4,
/// NSTART 1. EXCHANGE_LIFETIME and NON_LIFETIME are derived from them as in §4.8.2.
/// </remarks>
public sealed class CoapEndpointOptions
{
    /// <summary>ACK_TIMEOUT: the initial retransmission timeout of a confirmable message.</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>ACK_RANDOM_FACTOR: the initial timeout is drawn from [ACK_TIMEOUT, ACK_TIMEOUT × factor].</summary>
    public double AckRandomFactor { get; set; } = 1.5;

    /// <summary>MAX_RETRANSMIT: retransmissions of a confirmable message before giving up.</summary>
    public int MaxRetransmit { get; set; } = 4;

    /// <summary>NSTART: outstanding interactions a client keeps with one server.</summary>
    public int NStart { get; set; } = 1;

    /// <summary>MAX_LATENCY (§4.8.2), 100 s.</summary>
    public TimeSpan MaxLatency { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>PROCESSING_DELAY (§4.8.2); by default ACK_TIMEOUT.</summary>
    public TimeSpan? ProcessingDelay { get; set; }

    /// <summary>
    /// How long a handler may take before a confirmable request is answered with an empty ACK and the
    /// response follows as a separate confirmable message (§5.2.2).
    /// </summary>
    public TimeSpan SeparateResponseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a client waits for a response after its request was acknowledged (or sent NON).</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// The most message exchanges duplicate detection remembers for all peers together (each for EXCHANGE_LIFETIME at
    /// most). Past it, the least recently active peers are forgotten whole; no message is ever refused for it. About
    /// 100 bytes an entry plus the cached reply.
    /// </summary>
    public int MaxDeduplicationEntries { get; set; } = 100_000;

    /// <summary>
    /// The most message exchanges duplicate detection remembers for one peer (over DTLS, one session). A peer that sends
    /// more within EXCHANGE_LIFETIME forgets its own oldest, so a late retransmission of one of those is processed
    /// again: the cost of sending fast falls on the sender alone. 128 covers NSTART 1 at any rate a constrained device
    /// reaches (one new exchange every two seconds for EXCHANGE_LIFETIME) and every retransmission window (MAX_TRANSMIT_SPAN)
    /// of a client with up to about 2.8 requests a second.
    /// </summary>
    public int MaxDeduplicationEntriesPerPeer { get; set; } = 128;

    /// <summary>
    /// The most peers whose message IDs the endpoint tracks (RFC 7252 §4.4: no ID reused with a peer within EXCHANGE_LIFETIME; IDs
    /// are needed for non-confirmable responses, separate responses, notifications and requests of its own). Past it the least
    /// recently active peer is forgotten, and only that peer's next ID may then repeat one it was sent before. About 250 bytes a peer.
    /// </summary>
    public int MaxMessageIdPeers { get; set; } = 100_000;

    /// <summary>
    /// The most requests of one peer (over DTLS, one session) whose handlers are in progress at once: handlers that did not answer
    /// at once (work on the thread pool, a store or an upstream server), until their response is sent. A request past it gets
    /// 4.29 Too Many Requests (RFC 8516) with Max-Age before any handler sees it, so a peer cannot queue work without bound. A
    /// handler that answers at once never counts.
    /// </summary>
    public int MaxRequestsInProgressPerPeer { get; set; } = 8;

    /// <summary>
    /// The same for all peers of one source address (an IPv4 address or an IPv6 /64, all its ports and DTLS sessions), so that one
    /// host cannot take <see cref="MaxRequestsInProgress"/>; past it 4.29 with Max-Age.
    /// </summary>
    public int MaxRequestsInProgressPerAddress { get; set; } = 64;

    /// <summary>
    /// The same for all peers of this endpoint together (coap:// and coaps:// are an endpoint each); past it a request gets 5.03
    /// Service Unavailable with Max-Age.
    /// </summary>
    public int MaxRequestsInProgress { get; set; } = 1024;

    /// <summary>Length of the tokens the client generates (RFC 7252 §5.3.1 recommends 32 bits of randomness or more).</summary>
    public int TokenLength { get; set; } = 4;

    /// <summary>MAX_TRANSMIT_SPAN (§4.8.2).</summary>
    public TimeSpan MaxTransmitSpan => AckTimeout * ((1 << MaxRetransmit) - 1) * AckRandomFactor;

    /// <summary>MAX_TRANSMIT_WAIT (§4.8.2).</summary>
    public TimeSpan MaxTransmitWait => AckTimeout * ((1 << (MaxRetransmit + 1)) - 1) * AckRandomFactor;

    /// <summary>EXCHANGE_LIFETIME (§4.8.2): how long a message ID is remembered for duplicate detection; 247 s by default.</summary>
    public TimeSpan ExchangeLifetime => MaxTransmitSpan + (2 * MaxLatency) + (ProcessingDelay ?? AckTimeout);

    /// <summary>NON_LIFETIME (§4.8.2): 145 s by default.</summary>
    public TimeSpan NonLifetime => MaxTransmitSpan + MaxLatency;

    internal void Validate()
    {
        if (AckTimeout <= TimeSpan.Zero || AckRandomFactor < 1 || MaxRetransmit < 0 || MaxRetransmit > 20 || NStart < 1
            || TokenLength < 1 || TokenLength > CoapMessage.MaxTokenLength || MaxDeduplicationEntries < 1 || MaxDeduplicationEntriesPerPeer < 1
            || MaxMessageIdPeers < 1 || MaxRequestsInProgressPerPeer < 1
            || MaxRequestsInProgressPerAddress < 1 || MaxRequestsInProgress < 1)
        {
            throw new ArgumentException("Invalid CoAP transmission parameters.");
        }
    }
}
