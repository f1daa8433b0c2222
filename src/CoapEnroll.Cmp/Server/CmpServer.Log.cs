using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cmp;

public sealed partial class CmpServer
{
    [LoggerMessage(400, LogLevel.Information, "CMP {FrontEnd}: malformed request from {Peer}: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string frontEnd, string peer, string reason);

    [LoggerMessage(401, LogLevel.Error, "CMP {FrontEnd}: failed answering {Requester}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string frontEnd, string requester);

    [LoggerMessage(402, LogLevel.Debug, "CMP {FrontEnd}: {Body} from {Requester}, transaction {TransactionId}")]
    private static partial void LogRequest(ILogger logger, string frontEnd, string body, string requester, string transactionId);

    [LoggerMessage(403, LogLevel.Information, "CMP {FrontEnd}: refused {Requester}: {FailInfo}: {Text}")]
    private static partial void LogRefusal(ILogger logger, string frontEnd, string requester, string failInfo, string text);

    [LoggerMessage(404, LogLevel.Information, "CMP {FrontEnd}: MAC reference '{Reference}' is not configured")]
    private static partial void LogUnknownReference(ILogger logger, string frontEnd, string reference);

    [LoggerMessage(405, LogLevel.Information, "CMP {FrontEnd}: protection of {Sender} refused: {Status} {Detail}")]
    private static partial void LogProtectionRefused(ILogger logger, string frontEnd, string sender, string status, string detail);

    [LoggerMessage(406, LogLevel.Information, "CMP {FrontEnd}: {Name} not authenticated: {Detail}")]
    private static partial void LogNotAuthenticated(ILogger logger, string frontEnd, string name, string detail);

    [LoggerMessage(407, LogLevel.Information, "CMP {FrontEnd}: issued {Serial} to {Requester} (implicit confirmation: {Implicit})")]
    private static partial void LogIssued(ILogger logger, string frontEnd, string requester, string serial, bool @implicit);

    [LoggerMessage(408, LogLevel.Information, "CMP {FrontEnd}: request {RequestId} of {Requester} waits for approval")]
    private static partial void LogPending(ILogger logger, string frontEnd, string requester, long requestId);

    [LoggerMessage(409, LogLevel.Information, "CMP {FrontEnd}: {Requester} confirmed {Serial}")]
    private static partial void LogConfirmed(ILogger logger, string frontEnd, string requester, string serial);

    [LoggerMessage(410, LogLevel.Information, "CMP {FrontEnd}: {Requester} asked to revoke {Serial}: {Outcome}")]
    private static partial void LogRevocation(ILogger logger, string frontEnd, string requester, string serial, string outcome);

    [LoggerMessage(411, LogLevel.Warning, "CMP: certificate {Serial} of {Requester} revoked unconfirmed ({Why}): {Outcome}")]
    private static partial void LogUnconfirmedRevoked(ILogger logger, string serial, string requester, string why, string outcome);

    [LoggerMessage(412, LogLevel.Warning, "CMP {FrontEnd}: {Requester} refused with systemUnavail: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string frontEnd, string requester, string reason);

    [LoggerMessage(413, LogLevel.Warning, "CMP {FrontEnd}: {Requester}: {What} after the issuance failed ({Cause}) failed too")]
    private static partial void LogCleanUpFailed(ILogger logger, Exception exception, string frontEnd, string requester, string what, string cause);

    [LoggerMessage(414, LogLevel.Error, "CMP: certificate {Serial} of {Requester} is unconfirmed ({Why}) and could not be revoked; revoke it: coapenroll requests revoke {Serial}")]
    private static partial void LogUnconfirmedNotRevoked(ILogger logger, Exception exception, string serial, string requester, string why);
}
