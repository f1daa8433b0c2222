namespace CoapEnroll.Testing;

/// <summary>What a <see cref="FleetEnrollment"/> run did, device by device, with the counters of this process over the run.</summary>
public sealed record FleetResult
{
    public required IReadOnlyList<FleetDeviceResult> Devices { get; init; }

    public required TimeSpan Elapsed { get; init; }

    /// <summary><c>coap.messages.retransmitted</c> in this process (the devices' CoAP stacks, and the server's when it runs here).</summary>
    public required long CoapRetransmissions { get; init; }

    /// <summary><c>coap.messages.duplicate</c> in this process: messages duplicate detection recognised and absorbed.</summary>
    public required long CoapDuplicates { get; init; }

    /// <summary>Flights the devices' DTLS stacks sent again (handshake retransmissions, RFC 6347 §4.2.4).</summary>
    public required long DtlsRetransmissions { get; init; }

    public int Enrolled => Devices.Count(d => d.Enrolled);

    /// <summary>The <paramref name="percentile"/> (0..100) of the enrolled devices' <see cref="FleetDeviceResult.Elapsed"/>, nearest rank.</summary>
    public TimeSpan Percentile(double percentile)
    {
        TimeSpan[] sorted = [.. Devices.Where(d => d.Enrolled).Select(d => d.Elapsed).Order()];
        if (sorted.Length == 0)
        {
            return TimeSpan.Zero;
        }

        int rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
