using System.Diagnostics.Metrics;

namespace CoapEnroll.Dtls;

/// <summary>Counters of the DTLS layer, published on the meter <c>CoapEnroll.Dtls</c>.</summary>
internal static class DtlsMetrics
{
    public const string MeterName = "CoapEnroll.Dtls";

    private static readonly Meter s_meter = new(MeterName);

    /// <summary>Tagged <c>dtls.role</c> = <c>server</c> or <c>client</c>.</summary>
    public static readonly Counter<long> HandshakesWithoutExtendedMasterSecret = s_meter.CreateCounter<long>(
        "dtls.handshakes.without_extended_master_secret", "{handshake}",
        "Handshakes completed with the RFC 5246 master secret because the peer did not negotiate extended_master_secret (RFC 7627); "
        + "their tls-unique and exporters are refused");
}
