namespace CoapEnroll.Est.Upstream;

/// <summary>
/// What an EST server over HTTPS answered (<see cref="EstHttpsClient"/>): the status, Retry-After, the decoded representations of
/// a successful answer, the text of a failure; or, with <see cref="Failure"/>, why there is no usable answer.
/// </summary>
public sealed class EstHttpsResponse
{
    /// <summary>Why there is no usable answer; <see cref="EstHttpsFailure.None"/> when <see cref="StatusCode"/> is the server's.</summary>
    public EstHttpsFailure Failure { get; init; }

    /// <summary>The HTTP status code; 0 when <see cref="Failure"/> is not <see cref="EstHttpsFailure.None"/> or <see cref="EstHttpsFailure.InvalidResponse"/>.</summary>
    public int StatusCode { get; init; }

    /// <summary>The Retry-After of a 202 or 503 answer as a delay from now (seconds, or an HTTP date), or null.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// The representations of a 200 answer, decoded from base64: one for a simple answer, one per body part of a multipart/mixed one
    /// (server-side key generation, RFC 7030 §4.4.2). Empty otherwise.
    /// </summary>
    public IReadOnlyList<EstHttpsPart> Parts { get; init; } = [];

    /// <summary>
    /// Text for the logs and a diagnostic: the server's error text (printable, at most 256 characters) for an error status, or what
    /// was wrong for a <see cref="Failure"/>.
    /// </summary>
    public string? Text { get; init; }
}
