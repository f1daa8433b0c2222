namespace CoapEnroll.Coap;

/// <summary>Client-side settings: message layer parameters and block-wise behaviour.</summary>
public sealed class CoapClientOptions
{
    /// <summary>Transmission parameters of the client's endpoint.</summary>
    public CoapEndpointOptions Endpoint { get; set; } = new();

    /// <summary>
    /// The block size (16..1024) the client asks for in responses (early Block2 negotiation) and
    /// uses for request bodies; null lets the server choose and sends bodies in 1024-byte blocks
    /// when they do not fit one datagram.
    /// </summary>
    public int? BlockSize { get; set; }

    /// <summary>The largest response body the client reassembles from Block2 blocks.</summary>
    public int MaxResponseBodySize { get; set; } = 16 * 1024 * 1024;
}
