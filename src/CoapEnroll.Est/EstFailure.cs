namespace CoapEnroll.Est;

/// <summary>
/// Why an EST request was refused, in protocol-neutral terms: EST-coaps answers each with a CoAP code, EST over HTTPS with an HTTP
/// status (RFC 8075 maps one onto the other).
/// </summary>
internal enum EstFailure
{
    /// <summary>4.00 / 400: a request the server cannot use (malformed, bad proof of possession, unsupported key, ...).</summary>
    BadRequest,

    /// <summary>4.03 / 403: an authenticated requester that may not have this (names, re-enrollment, operator's refusal, linking).</summary>
    Forbidden,

    /// <summary>4.04 / 404: an unknown profile.</summary>
    NotFound,

    /// <summary>5.03 with Max-Age / 503 with Retry-After: too many requests wait for approval; the client repeats it later.</summary>
    ServiceUnavailable,
}
