using System.Net;

namespace CoapEnroll.Coap;

/// <summary>One received datagram: how many bytes landed in the buffer, and from whom.</summary>
public readonly record struct DatagramReceiveResult(int ReceivedBytes, EndPoint RemoteEndPoint);
