namespace CoapEnroll.Est;

/// <summary>
/// One AttrOrOID of a CSR Attributes Response (RFC 7030 §4.5.2 as replaced by RFC 8951 §4): a bare OID when
/// <see cref="Values"/> is null, otherwise an Attribute whose values are the DER encodings in <see cref="Values"/>.
/// </summary>
/// <param name="Oid">The OID (dotted).</param>
/// <param name="Values">The attribute values (DER), or null for a bare OID.</param>
public sealed record EstCsrAttribute(string Oid, IReadOnlyList<byte[]>? Values = null)
{
    /// <summary>True for a bare OID (for example challengePassword, or a signature algorithm to use).</summary>
    public bool IsOid => Values is null;
}
