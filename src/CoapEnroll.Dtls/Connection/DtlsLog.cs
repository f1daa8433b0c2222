using System.Net;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Dtls;

internal static partial class DtlsLog
{
    [LoggerMessage(100, LogLevel.Debug, "DTLS {Remote}: handshake complete, {Suite}")]
    public static partial void Established(ILogger logger, EndPoint remote, CipherSuite suite);

    [LoggerMessage(101, LogLevel.Information, "DTLS {Remote}: sending fatal alert {Alert}: {Reason}")]
    public static partial void SendingFatalAlert(ILogger logger, EndPoint remote, AlertDescription alert, string reason);

    [LoggerMessage(102, LogLevel.Debug, "DTLS {Remote}: received alert {Level} {Alert}")]
    public static partial void ReceivedAlert(ILogger logger, EndPoint remote, AlertLevel level, AlertDescription alert);

    [LoggerMessage(103, LogLevel.Debug, "DTLS {Remote}: dropped {What}")]
    public static partial void Dropped(ILogger logger, EndPoint remote, string what);

    [LoggerMessage(104, LogLevel.Debug, "DTLS {Remote}: retransmitting flight (try {Try}, {Reason})")]
    public static partial void Retransmitting(ILogger logger, EndPoint remote, int @try, string reason);

    [LoggerMessage(105, LogLevel.Information, "DTLS {Remote}: handshake abandoned after {Tries} retransmissions")]
    public static partial void RetransmissionsExhausted(ILogger logger, EndPoint remote, int tries);

    [LoggerMessage(106, LogLevel.Information, "DTLS {Remote}: peer address changed from {Previous} (connection ID)")]
    public static partial void AddressChanged(ILogger logger, EndPoint remote, EndPoint previous);

    [LoggerMessage(107, LogLevel.Error, "DTLS {Remote}: internal error")]
    public static partial void InternalError(ILogger logger, EndPoint remote, Exception exception);

    [LoggerMessage(108, LogLevel.Warning,
        "DTLS server: {Bound} ({Max}) reached; cookie-verified ClientHello from {Remote} dropped ({HeldBack} more since the last report)")]
    public static partial void HandshakeRefused(ILogger logger, EndPoint remote, string bound, int max, long heldBack);

    [LoggerMessage(113, LogLevel.Warning,
        "DTLS server: the handshake datagram queue ({Bound}) is full; a datagram from {Remote} dropped ({HeldBack} more since the last report)")]
    public static partial void HandshakeDatagramDropped(ILogger logger, EndPoint remote, string bound, long heldBack);

    [LoggerMessage(109, LogLevel.Debug, "DTLS {Remote}: evicted after {Idle} idle")]
    public static partial void Evicted(ILogger logger, EndPoint remote, TimeSpan idle);

    [LoggerMessage(112, LogLevel.Debug, "DTLS {Remote}: closed, the least recently active of its address's {Max} sessions (Dtls:MaxConnectionsPerAddress), for a new session of the same address")]
    public static partial void EvictedForAddress(ILogger logger, EndPoint remote, int max);

    [LoggerMessage(110, LogLevel.Warning, "DTLS: writing the key log failed")]
    public static partial void KeyLogFailed(ILogger logger, Exception exception);

    [LoggerMessage(111, LogLevel.Information,
        "DTLS {Remote}: session established without extended_master_secret ({Suite}); its tls-unique and exporters are refused (RFC 7627)")]
    public static partial void EstablishedWithoutExtendedMasterSecret(ILogger logger, EndPoint remote, CipherSuite suite);
}
