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

    /// <summary>Whether the status is a server error (CoAP 5.xx, HTTP 5xx) rather than a client error.</summary>
    public bool IsServerError { get; }
}
