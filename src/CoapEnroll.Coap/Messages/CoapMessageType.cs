namespace CoapEnroll.Coap;

/// <summary>The message type carried in the two T bits of the header (RFC 7252 §3).</summary>
public enum CoapMessageType : byte
{
    Confirmable = 0,
    NonConfirmable = 1,
    Acknowledgement = 2,
    Reset = 3,
}
