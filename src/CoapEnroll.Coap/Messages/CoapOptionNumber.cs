namespace CoapEnroll.Coap;

/// <summary>
/// Option numbers from the CoAP Option Numbers registry for the options this library understands:
/// RFC 7252 §5.10, RFC 7641 (Observe), RFC 7959 (Block1, Block2, Size1, Size2), RFC 9175 (Echo,
/// Request-Tag), RFC 8613 (OSCORE, recognised but not processed), RFC 8768 (Hop-Limit) and
/// RFC 7967 (No-Response).
/// </summary>
public static class CoapOptionNumber
{
    public const int IfMatch = 1;
    public const int UriHost = 3;
    public const int ETag = 4;
    public const int IfNoneMatch = 5;
    public const int Observe = 6;
    public const int UriPort = 7;
    public const int LocationPath = 8;
    public const int Oscore = 9;
    public const int UriPath = 11;
    public const int ContentFormat = 12;
    public const int MaxAge = 14;
    public const int UriQuery = 15;
    public const int HopLimit = 16;
    public const int Accept = 17;
    public const int LocationQuery = 20;
    public const int Block2 = 23;
    public const int Block1 = 27;
    public const int Size2 = 28;
    public const int ProxyUri = 35;
    public const int ProxyScheme = 39;
    public const int Size1 = 60;
    public const int Echo = 252;
    public const int NoResponse = 258;
    public const int RequestTag = 292;

    /// <summary>Odd numbers are critical (RFC 7252 §5.4.1).</summary>
    public static bool IsCritical(int number) => (number & 1) != 0;

    /// <summary>Bit 1 set means unsafe to forward (RFC 7252 §5.4.2).</summary>
    public static bool IsUnsafe(int number) => (number & 2) != 0;

    /// <summary>NoCacheKey: bits 2–4 all set (RFC 7252 §5.4.2, <c>(onum &amp; 0x1e) == 0x1c</c>).</summary>
    public static bool IsNoCacheKey(int number) => (number & 0x1E) == 0x1C;
}
