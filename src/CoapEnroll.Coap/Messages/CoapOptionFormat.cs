namespace CoapEnroll.Coap;

/// <summary>Option value formats (RFC 7252 §3.2).</summary>
public enum CoapOptionFormat
{
    Empty,
    Opaque,
    UInt,
    String,
}
