namespace CoapEnroll.Coap;

/// <summary>
/// An entry in the list of observers: the client endpoint and the token of its request (RFC 7641
/// §4.1), qualified by the server endpoint the registration arrived on.
/// </summary>
internal readonly record struct ObserveKey(CoapEndpoint Endpoint, PeerTokenKey Client);
