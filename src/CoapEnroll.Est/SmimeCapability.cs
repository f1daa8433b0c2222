namespace CoapEnroll.Est;

/// <summary>
/// One SMIMECapability of a CSR (RFC 8551 §2.5.2): an algorithm the client accepts, with its parameters as DER when
/// present (e.g. RSAES-OAEP-params, RFC 4055 §4.1; the KeyWrapAlgorithm of an ECDH scheme, RFC 5753 §5).
/// </summary>
internal readonly record struct SmimeCapability(string Oid, ReadOnlyMemory<byte> Parameters = default)
{
    public bool HasParameters => !Parameters.IsEmpty;

    public static implicit operator SmimeCapability(string oid) => new(oid);
}
