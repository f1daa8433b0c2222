namespace CoapEnroll.Ca;

/// <summary>
/// One attribute of a distinguished name: its type (a dotted OID) and its value as text. A value that is not a character string
/// (or not a decodable one) is written as '#' and the hex of its DER, as RFC 4514 section 2.4 writes such values.
/// </summary>
public readonly record struct NameAttribute(string Oid, string Value);
