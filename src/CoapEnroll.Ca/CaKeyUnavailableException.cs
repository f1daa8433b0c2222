namespace CoapEnroll.Ca;

/// <summary>
/// The CA's key cannot be reached for now (the token was removed, the session to the HSM was lost): nothing was signed, and the
/// same request may succeed later. EST and CMP answer "service unavailable" with a retry time.
/// </summary>
public sealed class CaKeyUnavailableException : Exception
{
    /// <summary>Seconds a client waits before it tries again (Max-Age, Retry-After).</summary>
    public const uint DefaultRetryAfterSeconds = 5;

    public CaKeyUnavailableException()
        : this("the CA key is unavailable")
    {
    }

    public CaKeyUnavailableException(string message)
        : base(message)
    {
    }

    public CaKeyUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Seconds a client waits before it tries again.</summary>
    public uint RetryAfterSeconds { get; init; } = DefaultRetryAfterSeconds;
}
