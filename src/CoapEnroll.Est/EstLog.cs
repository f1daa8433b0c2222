using Microsoft.Extensions.Logging;

namespace CoapEnroll.Est;

/// <summary>Log messages of the EST layer (EST-coaps and EST over HTTPS).</summary>
internal static partial class EstLog
{
    [LoggerMessage(1, LogLevel.Information, "EST-coaps resources mapped under {Root} (att: {Att}, skg/skc: {Skg})")]
    public static partial void Mapped(ILogger logger, string root, bool att, bool skg);

    [LoggerMessage(2, LogLevel.Information, "EST {Operation} refused with {Code} for {Requester}: {Reason}")]
    public static partial void Refused(ILogger logger, string operation, string code, string requester, string reason);

    // A new certificate is logged at Information by the CA (serial, subject, profile, requester, protocol); this line adds only the
    // operation, so it is Debug: one line per issuance, not two. A repeat is logged by the CA at Debug only, so its line here stays
    // Information (IssuedAgain).
    [LoggerMessage(3, LogLevel.Debug, "EST {Operation} issued {Serial} to {Requester} (profile {Profile})")]
    public static partial void Issued(ILogger logger, string operation, string serial, string requester, string profile);

    [LoggerMessage(8, LogLevel.Information, "EST {Operation} answered {Requester} again with {Serial}, issued for the same request before (profile {Profile})")]
    public static partial void IssuedAgain(ILogger logger, string operation, string serial, string requester, string profile);

    [LoggerMessage(4, LogLevel.Information, "EST {Operation} from {Requester} is pending approval as request {RequestId}; answering 5.03 with Max-Age {MaxAge}")]
    public static partial void Pending(ILogger logger, string operation, string requester, long requestId, uint maxAge);

    [LoggerMessage(5, LogLevel.Warning, "EST {Operation} failed for {Requester}")]
    public static partial void Failed(ILogger logger, Exception exception, string operation, string requester);

    [LoggerMessage(6, LogLevel.Information, "EST over HTTPS endpoints mapped under {Root} (csrattrs: {CsrAttrs}, serverkeygen: {ServerKeyGen})")]
    public static partial void MappedHttps(ILogger logger, string root, bool csrAttrs, bool serverKeyGen);

    [LoggerMessage(7, LogLevel.Information, "EST {Operation} from {Requester} is pending approval as request {RequestId}; answering 202 with Retry-After {RetryAfter}")]
    public static partial void PendingHttps(ILogger logger, string operation, string requester, long requestId, uint retryAfter);

    [LoggerMessage(20, LogLevel.Information, "EST {Operation} for {Requester} forwarded to {Upstream}: HTTP {Status}, answering {Code}")]
    public static partial void Forwarded(ILogger logger, string operation, string requester, string upstream, int status, string code);

    [LoggerMessage(21, LogLevel.Warning, "EST {Operation} for {Requester}: upstream {Upstream} {Failure} ({Detail}); answering {Code}")]
    public static partial void UpstreamFailed(ILogger logger, string operation, string requester, string upstream, string failure, string? detail, string code);

    [LoggerMessage(22, LogLevel.Warning, "EST {Operation} for {Requester}: upstream {Upstream} refused this registrar's authentication (HTTP 401): check --upstream-cert and the upstream's registrar trust")]
    public static partial void UpstreamUnauthorized(ILogger logger, string operation, string requester, string upstream);

    [LoggerMessage(10, LogLevel.Information, "EST client: {Operation} answered 5.03; retrying in {Delay}")]
    public static partial void Waiting(ILogger logger, string operation, TimeSpan delay);

    [LoggerMessage(11, LogLevel.Debug, "EST client: discovered {Count} EST resources")]
    public static partial void Discovered(ILogger logger, int count);

    [LoggerMessage(23, LogLevel.Warning, "EST {Operation} from {Requester} answered {Code} with a retry time: {Reason}")]
    public static partial void Unavailable(ILogger logger, string operation, string requester, string code, string reason);
}
