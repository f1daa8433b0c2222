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

    /// <summary>Tagged <c>bound</c> = <c>address</c>, <c>global</c> or <c>connections</c> (<see cref="HandshakeBound"/>).</summary>
    public static readonly Counter<long> HandshakesRefused = s_meter.CreateCounter<long>(
        "dtls.handshakes.refused", "{handshake}",
        "Cookie-verified ClientHellos dropped at a bound: bound=address (MaxHandshakesPerAddress), global (MaxHandshakes), "
        + "address-connections (MaxConnectionsPerAddress) or connections (MaxConnections, the connection table)");

    /// <summary>Tagged <c>bound</c> = <c>connection</c> or <c>global</c>: the queue of a handshaking connection's datagrams was full.</summary>
    public static readonly Counter<long> HandshakeDatagramsDropped = s_meter.CreateCounter<long>(
        "dtls.handshake_datagrams.dropped", "{datagram}",
        "Datagrams of connections in their handshakes dropped because their processing queue was full: bound=connection ("
        + $"{DtlsServerChannel.MaxQueuedHandshakeDatagramsPerConnection} datagrams or {DtlsServerChannel.MaxQueuedHandshakeBytesPerConnection / 1024} KB "
        + $"for one connection) or global ({DtlsServerChannel.MaxQueuedHandshakeBytes / (1024 * 1024)} MB for all); the peer retransmits");

    public static readonly UpDownCounter<long> HandshakesActive = s_meter.CreateUpDownCounter<long>(
        "dtls.handshakes.active", "{handshake}", "Server connections admitted with a valid cookie and not yet established or closed");

    /// <summary>Tagged <c>bound</c> = <c>address-connections</c>: closed to admit a new session of the same address past <see cref="DtlsServerOptions.MaxConnectionsPerAddress"/>.</summary>
    public static readonly Counter<long> ConnectionsEvicted = s_meter.CreateCounter<long>(
        "dtls.connections.evicted", "{connection}",
        "Established server sessions closed to make room, bound=address-connections: the least recently active session of an address at "
        + "MaxConnectionsPerAddress, for a new session of the same address");

    public static readonly UpDownCounter<long> ConnectionsActive = s_meter.CreateUpDownCounter<long>(
        "dtls.connections.active", "{connection}", "Server connections in the table, handshaking and established");

    /// <summary>
    /// Handshakes that ended, tagged <c>dtls.role</c> (server, client) and <c>result</c>: completed, or failed (closed before it was
    /// established: an alert, a timeout, a connection dropped while handshaking). A server counts only connections admitted with a
    /// valid cookie.
    /// </summary>
    public static readonly Counter<long> Handshakes = s_meter.CreateCounter<long>(
        "dtls.handshakes", "{handshake}", "DTLS handshakes that ended, tagged dtls.role (server, client) and result (completed, failed)");

    public static void CountHandshake(bool server, bool completed) =>
        Handshakes.Add(1, new KeyValuePair<string, object?>("dtls.role", server ? "server" : "client"),
            new KeyValuePair<string, object?>("result", completed ? "completed" : "failed"));
}
