using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Client;

/// <summary>Reason phrases of response codes (RFC 7252 §12.1.2, RFC 7959, RFC 8132, RFC 8516, RFC 9175).</summary>
internal static class CoapCodeNames
{
    public static string GetName(CoapCode code) => (code.Class, code.Detail) switch
    {
        (2, 1) => "Created",
        (2, 2) => "Deleted",
        (2, 3) => "Valid",
        (2, 4) => "Changed",
        (2, 5) => "Content",
        (2, 31) => "Continue",
        (4, 0) => "Bad Request",
        (4, 1) => "Unauthorized",
        (4, 2) => "Bad Option",
        (4, 3) => "Forbidden",
        (4, 4) => "Not Found",
        (4, 5) => "Method Not Allowed",
        (4, 6) => "Not Acceptable",
        (4, 8) => "Request Entity Incomplete",
        (4, 9) => "Conflict",
        (4, 12) => "Precondition Failed",
        (4, 13) => "Request Entity Too Large",
        (4, 15) => "Unsupported Content-Format",
        (4, 22) => "Unprocessable Entity",
        (4, 29) => "Too Many Requests",
        (5, 0) => "Internal Server Error",
        (5, 1) => "Not Implemented",
        (5, 2) => "Bad Gateway",
        (5, 3) => "Service Unavailable",
        (5, 4) => "Gateway Timeout",
        (5, 5) => "Proxying Not Supported",
        (5, 8) => "Hop Limit Reached",
        _ => string.Empty,
    };

    /// <summary>"4.04 Not Found", or just the code when it has no registered name.</summary>
    public static string Describe(CoapCode code)
    {
        string name = GetName(code);
        return name.Length == 0 ? code.ToString() : $"{code} {name}";
    }
}
