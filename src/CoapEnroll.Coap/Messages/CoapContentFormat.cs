namespace CoapEnroll.Coap;

/// <summary>Content-Format identifiers (RFC 7252 §12.3 and the IANA CoAP Content-Formats registry).</summary>
public static class CoapContentFormat
{
    public const int TextPlain = 0;
    public const int LinkFormat = 40;
    public const int Xml = 41;
    public const int OctetStream = 42;
    public const int Exi = 47;
    public const int Json = 50;
    public const int Cbor = 60;
    /// <summary>application/multipart-core (RFC 8710).</summary>
    public const int MultipartCore = 62;
    /// <summary>application/pkcs7-mime; smime-type=server-generated-key (RFC 9148).</summary>
    public const int Pkcs7ServerGeneratedKey = 280;
    /// <summary>application/pkcs7-mime; smime-type=certs-only (RFC 9148).</summary>
    public const int Pkcs7CertsOnly = 281;
    /// <summary>application/pkcs8 (RFC 9148).</summary>
    public const int Pkcs8 = 284;
    /// <summary>application/csrattrs (RFC 9148).</summary>
    public const int CsrAttrs = 285;
    /// <summary>application/pkcs10 (RFC 9148).</summary>
    public const int Pkcs10 = 286;
    /// <summary>application/pkix-cert (RFC 9148).</summary>
    public const int PkixCert = 287;
    /// <summary>application/pkixcmp (RFC 9482).</summary>
    public const int PkixCmp = 259;

    /// <summary>A media type name for the formats above, or the number.</summary>
    public static string GetName(int contentFormat) => contentFormat switch
    {
        TextPlain => "text/plain;charset=utf-8",
        LinkFormat => "application/link-format",
        Xml => "application/xml",
        OctetStream => "application/octet-stream",
        Exi => "application/exi",
        Json => "application/json",
        Cbor => "application/cbor",
        MultipartCore => "application/multipart-core",
        PkixCmp => "application/pkixcmp",
        Pkcs7ServerGeneratedKey => "application/pkcs7-mime;smime-type=server-generated-key",
        Pkcs7CertsOnly => "application/pkcs7-mime;smime-type=certs-only",
        Pkcs8 => "application/pkcs8",
        CsrAttrs => "application/csrattrs",
        Pkcs10 => "application/pkcs10",
        PkixCert => "application/pkix-cert",
        _ => contentFormat.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
