using System.Net;

namespace CoapEnroll.Transport;

/// <summary>One received datagram: how many bytes landed in the buffer, and from whom.</summary>
public readonly record struct DatagramReceiveResult(int ReceivedBytes, EndPoint RemoteEndPoint);
