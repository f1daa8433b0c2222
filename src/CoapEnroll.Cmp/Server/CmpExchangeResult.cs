namespace CoapEnroll.Cmp;

/// <summary>
/// What the transport sends back: a DER PKIMessage (every CMP-level answer, errors included, RFC 9482 §2.3), or, for bytes that are
/// no PKIMessage at all, nothing but a transport-level refusal (CoAP 4.00, HTTP 400) with <see cref="Detail"/> as its diagnostic.
/// </summary>
public sealed class CmpExchangeResult
{
    private CmpExchangeResult(byte[]? response, string? detail)
    {
        Response = response;
        Detail = detail;
    }

    /// <summary>The DER answer; <see langword="null"/> when <see cref="IsMalformed"/>.</summary>
    public byte[]? Response { get; }

    /// <summary>The input could not be read as a PKIMessage.</summary>
    public bool IsMalformed => Response is null;

    /// <summary>Why the input was malformed, for the transport's diagnostic payload.</summary>
    public string? Detail { get; }

    internal static CmpExchangeResult Answer(byte[] response) => new(response, null);

    internal static CmpExchangeResult Malformed(string detail) => new(null, detail);
}
