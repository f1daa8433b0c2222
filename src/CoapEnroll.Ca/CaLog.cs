using Microsoft.Extensions.Logging;

namespace CoapEnroll.Ca;

/// <summary>Log messages of the CA engine (event ids 100-199 issuance, 200-299 store; 1-99 were the bootstrap's, now CoapEnroll.Hosting's).</summary>
internal static partial class CaLog
{
    [LoggerMessage(100, LogLevel.Information, "Issued {Serial} to {Subject} (profile {Profile}, requester {Requester}, protocol {Protocol})")]
    public static partial void Issued(ILogger logger, string serial, string subject, string profile, string requester, string protocol);

    [LoggerMessage(101, LogLevel.Information, "Request {RequestId} from {Requester} is pending approval (profile {Profile})")]
    public static partial void PendingStored(ILogger logger, long requestId, string requester, string profile);

    [LoggerMessage(102, LogLevel.Information, "Rejected request from {Requester} ({Protocol}): {Reason} {Detail}")]
    public static partial void Rejected(ILogger logger, string requester, string protocol, RejectionReason reason, string detail);

    [LoggerMessage(109, LogLevel.Warning,
        "Request from {Requester} (identity {Identity}) needs approval but {Setting} ({Max}) requests wait already; refused, nothing stored ({HeldBack} more since the last report)")]
    public static partial void PendingLimit(ILogger logger, string requester, string identity, string setting, int max, long heldBack);

    [LoggerMessage(103, LogLevel.Debug, "Request key {RequestKey} repeated; returning stored result {Status}")]
    public static partial void Repeated(ILogger logger, string requestKey, RequestStatus status);

    [LoggerMessage(104, LogLevel.Warning, "Serial number collision on {Serial}; retrying with a new one")]
    public static partial void SerialCollision(ILogger logger, string serial);

    [LoggerMessage(105, LogLevel.Information, "Request {RequestId} approved by {Actor}")]
    public static partial void Approved(ILogger logger, long requestId, string actor);

    [LoggerMessage(106, LogLevel.Information, "Request {RequestId} rejected by {Actor}: {Reason}")]
    public static partial void RejectedByOperator(ILogger logger, long requestId, string actor, string reason);

    [LoggerMessage(107, LogLevel.Warning, "Certificate {Serial} revoked ({Reason}) by {Actor}")]
    public static partial void Revoked(ILogger logger, string serial, string reason, string actor);

    [LoggerMessage(108, LogLevel.Information, "CRL {CrlNumber} built: {Count} revoked certificates, next update {NextUpdate:u}")]
    public static partial void CrlBuilt(ILogger logger, long crlNumber, int count, DateTimeOffset nextUpdate);

    [LoggerMessage(200, LogLevel.Debug, "Counting the requests waiting for approval failed ({Error}: {Message}); the gauge keeps the last count")]
    public static partial void PendingCountFailed(ILogger logger, string error, string message);
}
