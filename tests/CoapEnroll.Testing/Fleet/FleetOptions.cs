using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Testing;

/// <summary>What <see cref="FleetEnrollment"/> runs: how many devices, how many at once, and the loss each one's link has.</summary>
public sealed class FleetOptions
{
    /// <summary>The server's coaps:// endpoint (each device talks to it through a <see cref="LossyForwarder"/> of its own).</summary>
    public required IPEndPoint Server { get; init; }

    /// <summary>Trust anchors for the server certificate.</summary>
    public required X509Certificate2Collection ServerTrustAnchors { get; init; }

    /// <summary>Issues each device's identity; the server must trust it as a manufacturer CA.</summary>
    public required DeviceManufacturer Manufacturer { get; init; }

    public int Devices { get; init; } = 300;

    /// <summary>Devices enrolling at once.</summary>
    public int Concurrency { get; init; } = 32;

    /// <summary>Each datagram, in each direction, is dropped with this probability.</summary>
    public double LossRate { get; init; } = 0.2;

    public double DuplicationRate { get; init; } = 0.1;

    public double ReorderRate { get; init; } = 0.1;

    /// <summary>How long one device may take, over all its attempts, before it counts as stuck.</summary>
    public TimeSpan DeviceLimit { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>New DTLS sessions a device starts (each sending the same CSR) before it gives up.</summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>Device N is <c>serialNumber=PREFIX-N, CN=PREFIX-N</c> and asks for <c>CN=PREFIX-N</c>.</summary>
    public string NamePrefix { get; init; } = "fleet";

    /// <summary>
    /// Each device on a loopback address of its own (127.1.x.y, Linux), as devices in the field are, rather than all on 127.0.0.1,
    /// where the server's per-address bounds (e.g. <c>Dtls:MaxHandshakesPerAddress</c>) would treat them as one host behind a NAT.
    /// </summary>
    public bool DistinctAddresses { get; init; } = true;

    /// <summary>Seeds each device's forwarder (seed + device index), so a run's losses can be repeated.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Called after each device finishes (progress reports).</summary>
    public Action<FleetDeviceResult>? DeviceFinished { get; init; }
}
