namespace CoapEnroll.Coap;

/// <summary>A notification we sent: the server endpoint, the observer and the message ID a Reset would echo (RFC 7641 §4.5).</summary>
internal readonly record struct NotificationMessageKey(CoapEndpoint Endpoint, PeerMessageKey Message);
