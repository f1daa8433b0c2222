using CoapEnroll.Coap;

namespace CoapEnroll.Est;

/// <summary>The EST server refused a request (a 4.xx or 5.xx answer, RFC 9148 §4.5), or kept answering 5.03 beyond the client's bound.</summary>
public sealed class EstRequestException : Exception
{
    public EstRequestException()
    {
    }

    public EstRequestException(string message)
        : base(message)
    {
    }

    public EstRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EstRequestException(CoapCode code, string diagnostic, uint? maxAge = null)
        : base($"EST server answered {code}{(diagnostic.Length > 0 ? ": " + diagnostic : "")}")
    {
        Code = code;
        Diagnostic = diagnostic;
        MaxAge = maxAge;
    }

    /// <summary>The response code.</summary>
    public CoapCode Code { get; }

    /// <summary>The server's diagnostic payload (RFC 7252 §5.5.2), possibly empty.</summary>
    public string Diagnostic { get; } = "";

    /// <summary>The Max-Age of a final 5.03 (seconds to wait before retrying), if any.</summary>
    public uint? MaxAge { get; }
}
