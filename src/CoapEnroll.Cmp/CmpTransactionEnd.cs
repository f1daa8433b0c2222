namespace CoapEnroll.Cmp;

/// <summary>Which requests a client sends last in a CMP transaction (RFC 9483 §4): their answer ends it.</summary>
internal static class CmpTransactionEnd
{
    /// <summary>
    /// certConf (answered by pkiConf), rr, genm, and a request that asks for implicit confirmation (whose answer ends the
    /// transaction when the server grants it; when it does not, the certConf that follows is the last).
    /// </summary>
    public static bool IsLastRequest(PkiMessage request) =>
        request.Body.BodyType is PkiBodyType.CertConf or PkiBodyType.Rr or PkiBodyType.Genm || request.Header.ImplicitConfirm;
}
