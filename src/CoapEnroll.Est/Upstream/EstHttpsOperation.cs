namespace CoapEnroll.Est.Upstream;

/// <summary>The EST operations over HTTPS (RFC 7030 §3.2.2) the <see cref="EstHttpsClient"/> sends.</summary>
public enum EstHttpsOperation
{
    /// <summary>GET /cacerts (§4.1).</summary>
    CaCerts,

    /// <summary>POST /simpleenroll (§4.2.1).</summary>
    SimpleEnroll,

    /// <summary>POST /simplereenroll (§4.2.2).</summary>
    SimpleReenroll,

    /// <summary>GET /csrattrs (§4.5).</summary>
    CsrAttrs,

    /// <summary>POST /serverkeygen (§4.4).</summary>
    ServerKeyGen,
}
