using System.Net;

namespace CoapEnroll.Coap.Tests.Infrastructure;

/// <summary>One send on the simulated network, as recorded in its trace.</summary>
/// <param name="Sequence">Position in the network-wide trace.</param>
/// <param name="Time">Time since the network was created, on its <see cref="TimeProvider"/>.</param>
public sealed record SimulatedDatagram(int Sequence, TimeSpan Time, EndPoint From, EndPoint To, byte[] Data, DatagramFate Fate)
{
    /// <summary>The datagram decoded, or null when it is not a well-formed CoAP message.</summary>
    public CoapMessage? Message => CoapMessageDecoder.TryDecode(Data, out var message) == CoapDecodeStatus.Success ? message : null;

    public override string ToString() => $"#{Sequence} {Time.TotalMilliseconds:0.0}ms {From}->{To} {Fate}: {Message?.ToString() ?? Convert.ToHexString(Data)}";
}
