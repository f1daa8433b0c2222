namespace CoapEnroll.Est.Upstream;

/// <summary>Why an <see cref="EstHttpsClient"/> exchange produced no usable HTTP answer.</summary>
public enum EstHttpsFailure
{
    /// <summary>An HTTP answer arrived (whatever its status) and its body, if any, could be read.</summary>
    None,

    /// <summary>No answer within the timeout (connecting included).</summary>
    Timeout,

    /// <summary>The server could not be reached: name resolution, connection or TLS handshake failed.</summary>
    Unreachable,

    /// <summary>The answer is not what RFC 7030 allows for the operation (media type, base64, multipart structure).</summary>
    InvalidResponse,

    /// <summary>The answer is larger than the client accepts.</summary>
    TooLarge,
}
