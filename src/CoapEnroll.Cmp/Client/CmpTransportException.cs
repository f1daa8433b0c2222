namespace CoapEnroll.Cmp;

/// <summary>A CMP transport's error: the server answered with an error status instead of a PKIMessage, or with something unusable.</summary>
public sealed class CmpTransportException : Exception
{
    /// <summary>An error with the server's <paramref name="status"/> (e.g. "4.15" or "500") and diagnostic.</summary>
    public CmpTransportException(string message, string? status, string? diagnostic, bool isServerError)
        : base(message)
    {
        Status = status;
        Diagnostic = diagnostic;
        IsServerError = isServerError;
    }

    /// <summary>
    /// The server's "busy, come back later" (CoAP 5.03 or 4.29 with Max-Age, HTTP 503 or 429 with Retry-After): it did not act on
    /// the request, and the same request may be sent again after <paramref name="retryAfter"/>.
    /// </summary>
    public CmpTransportException(string message, string status, string? diagnostic, bool isServerError, TimeSpan retryAfter)
        : this(message, status, diagnostic, isServerError)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retryAfter, TimeSpan.Zero);
        RetryAfter = retryAfter;
    }

    /// <summary>An unusable answer.</summary>
    public CmpTransportException(string message)
        : base(message)
    {
    }

    /// <summary>An unusable answer, with its cause.</summary>
    public CmpTransportException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>An unusable answer.</summary>
    public CmpTransportException()
    {
    }

    /// <summary>The transport status the server answered ("4.00", "503"); null when the answer was a success status with an unusable body.</summary>
    public string? Status { get; }

    /// <summary>The server's diagnostic text, if any.</summary>
    public string? Diagnostic { get; }

    /// <summary>
    /// Set when the server refused the request without acting on it and said when to come back (see the constructor); null for every
    /// other error. <see cref="CmpClient"/> sends the same request again after it, within <see cref="CmpClientOptions.MaxPollWait"/>.
    /// </summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Whether the status is a server error (CoAP 5.xx, HTTP 5xx) rather than a client error.</summary>
    public bool IsServerError { get; }
}
