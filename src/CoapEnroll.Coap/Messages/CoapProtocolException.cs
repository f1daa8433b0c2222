namespace CoapEnroll.Coap;

/// <summary>The one exception type of the CoAP layer; <see cref="Error"/> says what failed.</summary>
public sealed class CoapProtocolException : Exception
{
    public CoapProtocolException(CoapError error, string message)
        : base(message)
    {
        Error = error;
    }

    public CoapProtocolException(CoapError error, string message, Exception innerException)
        : base(message, innerException)
    {
        Error = error;
    }

    public CoapProtocolException()
        : this(CoapError.ProtocolViolation, "CoAP protocol error.")
    {
    }

    public CoapProtocolException(string message)
        : this(CoapError.ProtocolViolation, message)
    {
    }

    public CoapProtocolException(string message, Exception innerException)
        : this(CoapError.ProtocolViolation, message, innerException)
    {
    }

    public CoapError Error { get; }
}
