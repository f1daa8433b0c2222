namespace CoapEnroll.Bench;

/// <summary>The load generator's CoAP transmission parameters: RFC 7252 §4.8's defaults.</summary>
internal sealed record LoadParameters
{
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(2);

    public double AckRandomFactor { get; init; } = 1.5;

    public int MaxRetransmit { get; init; } = 4;
}
