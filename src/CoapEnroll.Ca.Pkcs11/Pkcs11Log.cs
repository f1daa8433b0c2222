using Microsoft.Extensions.Logging;

namespace CoapEnroll.Ca.Pkcs11;

/// <summary>The PKCS#11 key's log lines (never the PIN).</summary>
internal static partial class Pkcs11Log
{
    [LoggerMessage(1, LogLevel.Information, "CA key {Key} on {Token} opened ({KeyType}, up to {MaxSessions} signing sessions)")]
    public static partial void Opened(ILogger logger, string key, string token, string keyType, int maxSessions);

    [LoggerMessage(2, LogLevel.Information, "CA key {Key} generated on {Token} ({KeyType}, not extractable, sensitive)")]
    public static partial void Generated(ILogger logger, string key, string token, string keyType);

    [LoggerMessage(3, LogLevel.Warning, "The session to {Token} was lost ({ReturnValue}); enrollments are answered 'service unavailable' until it is back")]
    public static partial void Lost(ILogger logger, string token, string returnValue);

    [LoggerMessage(4, LogLevel.Warning, "Reconnecting to {Token} failed: {Reason}")]
    public static partial void ReconnectFailed(ILogger logger, string token, string reason);

    [LoggerMessage(5, LogLevel.Information, "Reconnected to {Token}; CA key {Key} is usable again")]
    public static partial void Reconnected(ILogger logger, string token, string key);

    [LoggerMessage(6, LogLevel.Warning, "PKCS#11 module {Module} initialized again (C_Finalize, C_Initialize) after {Failures} failed reconnections")]
    public static partial void Reinitialized(ILogger logger, string module, int failures);

    [LoggerMessage(7, LogLevel.Error, "{Token} refuses this key's PIN ({Reason}); not tried again until serve restarts, so that retries do not lock the PIN")]
    public static partial void GaveUp(ILogger logger, string token, string reason);
}
