using System.Net.Http;

namespace CoapEnroll;

/// <summary>
/// Reads an HTTP Retry-After (RFC 9110 §10.2.3) as a delay. A date is read against the response's own Date header when it has one,
/// so that a clock that differs from the server's does not lengthen or shorten what the server meant; only without it against
/// <c>now</c>. Compiled into each assembly that talks HTTP upstream (linked source: the EST and CMP layers share no assembly that
/// knows HTTP).
/// </summary>
internal static class HttpRetryAfter
{
    /// <summary>The delay, never negative, or null when the response has no Retry-After.</summary>
    public static TimeSpan? Of(HttpResponseMessage response, DateTimeOffset now)
    {
        TimeSpan? delay = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - (response.Headers.Date ?? now),
            _ => null,
        };
        return delay is { } d && d < TimeSpan.Zero ? TimeSpan.Zero : delay;
    }
}
