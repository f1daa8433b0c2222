namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// The plugtest server for the observe test descriptions, with short intervals so that the suite stays fast: the observable
/// resources change every second, non-confirmable notifications may follow each other after 1 s (RFC 7641 §4.5.1 says 3 s without
/// an RTT estimate), and a confirmable notification is retransmitted twice, after 1 and 2 s, and given up 4 s later (RFC 7252's
/// ACK_TIMEOUT is 2 s with a random factor of 1.5 and MAX_RETRANSMIT 4), so that an observer that went away is given up within 7 s.
/// </summary>
public sealed class BolObserveServerFixture : BolServerFixture
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    public const int MaxRetransmit = 2;

    protected override string[] ExtraArguments =>
    [
        "--Coap:PlugtestObserveIntervalSeconds=1",
        "--Coap:Observe:MinNonConfirmableInterval=00:00:01",
        "--Coap:Endpoint:AckTimeout=00:00:01",
        "--Coap:Endpoint:AckRandomFactor=1",
        $"--Coap:Endpoint:MaxRetransmit={MaxRetransmit}",
    ];
}
