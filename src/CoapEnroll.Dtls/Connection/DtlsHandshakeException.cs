namespace CoapEnroll.Dtls;

/// <summary>A DTLS handshake or connection failed: the alert we sent or received, or a timeout.</summary>
public sealed class DtlsHandshakeException : Exception
{
    public DtlsHandshakeException()
    {
    }

    public DtlsHandshakeException(string message)
        : base(message)
    {
    }

    public DtlsHandshakeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal DtlsHandshakeException(string message, AlertDescription? alert, bool receivedFromPeer)
        : base(message)
    {
        Alert = alert;
        ReceivedFromPeer = receivedFromPeer;
    }

    /// <summary>The alert description involved, or null (e.g. retransmissions exhausted).</summary>
    public AlertDescription? Alert { get; }

    /// <summary>True when the peer sent the alert, false when we did.</summary>
    public bool ReceivedFromPeer { get; }
}
