namespace CoapEnroll.Coap.Tests.Infrastructure;

/// <summary>
/// What a <see cref="SimulatedNetwork"/> does to the datagrams of one direction of one link. Every
/// datagram draws the same number of values from a <see cref="Random"/> seeded with
/// <see cref="Seed"/>, so the n-th datagram of a link always meets the same fate: same seed, same
/// decisions. (Which message is the n-th can still vary with thread scheduling; the cap
/// <see cref="MaxDropsPerDatagram"/> is what makes loss tests independent of that.)
/// </summary>
public sealed record FaultPlan
{
    /// <summary>A perfect link: every datagram delivered once, in order, at once.</summary>
    public static FaultPlan None { get; } = new();

    public int Seed { get; init; }

    /// <summary>Probability that a datagram is lost.</summary>
    public double DropProbability { get; init; }

    /// <summary>When positive, every N-th datagram of the link (N, 2N, …) is lost.</summary>
    public int DropEveryNth { get; init; }

    /// <summary>
    /// Identical bytes (a retransmission, or a reply resent from the deduplication cache) are lost
    /// by the random rules at most this many times; the next copy gets through. This bounds how many
    /// transmissions an exchange can need, whatever the interleaving.
    /// </summary>
    public int MaxDropsPerDatagram { get; init; } = int.MaxValue;

    /// <summary>
    /// A targeted rule: the datagram and how many identical datagrams went before it on this link;
    /// true loses it. Not subject to <see cref="MaxDropsPerDatagram"/>.
    /// </summary>
    public Func<ReadOnlyMemory<byte>, int, bool>? DropWhen { get; init; }

    /// <summary>Probability that a datagram is delivered twice.</summary>
    public double DuplicateProbability { get; init; }

    /// <summary>Probability that a datagram is held back and delivered right after the next one on the link.</summary>
    public double ReorderProbability { get; init; }

    /// <summary>A held datagram is released after this long when no other datagram follows it.</summary>
    public TimeSpan ReorderHoldLimit { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Probability that a datagram is delivered only after <see cref="Delay"/>.</summary>
    public double DelayProbability { get; init; }

    public TimeSpan Delay { get; init; } = TimeSpan.FromMilliseconds(5);
}
