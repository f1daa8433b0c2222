namespace CoapEnroll.Ca;

/// <summary>The result of <see cref="CertificationRequest.DecodePkcs10"/>.</summary>
public enum CertificationRequestDecodeStatus
{
    /// <summary>The request was decoded; its proof of possession is not yet checked.</summary>
    Decoded,

    /// <summary>The DER cannot be decoded as a request.</summary>
    Malformed,

    /// <summary>A request was decoded but more data follows it.</summary>
    TrailingData,
}
