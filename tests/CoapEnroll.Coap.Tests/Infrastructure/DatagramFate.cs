namespace CoapEnroll.Coap.Tests.Infrastructure;

/// <summary>What the simulated network did with one sent datagram (flags combine).</summary>
[Flags]
public enum DatagramFate
{
    Delivered = 0,
    Dropped = 1,
    Duplicated = 2,
    Reordered = 4,
    Delayed = 8,
    Unroutable = 16,
}
