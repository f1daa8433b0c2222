namespace CoapEnroll.Coap;

/// <summary>
/// A link parameter other than the ones <see cref="CoapResourceDescription"/> models directly
/// (RFC 6690 §2 link-extension, or rel/anchor/rev/hreflang/media/type/title*). A null
/// <see cref="Value"/> is a flag written without "=".
/// </summary>
/// <param name="Name">The parameter name (parmname, RFC 5987), as written.</param>
/// <param name="Value">The unquoted value, or null for a flag.</param>
public readonly record struct CoapLinkAttribute(string Name, string? Value);
