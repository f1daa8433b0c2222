namespace CoapEnroll.Est.Upstream;

/// <summary>
/// One decoded representation from an EST-over-HTTPS answer: its media type (lower case, without parameters), the smime-type
/// parameter of application/pkcs7-mime if any, and the DER the base64 body carried (RFC 7030 §4, RFC 8951 §3).
/// </summary>
/// <param name="MediaType">e.g. "application/pkcs7-mime", "application/pkcs8", "application/csrattrs".</param>
/// <param name="SmimeType">e.g. "certs-only", "server-generated-key"; null when absent.</param>
/// <param name="Der">The decoded bytes.</param>
public sealed record EstHttpsPart(string MediaType, string? SmimeType, byte[] Der);
