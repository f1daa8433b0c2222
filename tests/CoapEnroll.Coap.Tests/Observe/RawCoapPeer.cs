using System.Net;
using System.Net.Sockets;

namespace CoapEnroll.Coap.Tests.Observe;

/// <summary>A bare UDP socket speaking CoAP by hand, to send what a well-behaved endpoint would not (RSTs, silence).</summary>
internal sealed class RawCoapPeer : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Queue<CoapMessage> _unclaimed = new();
    private ushort _nextMessageId = 0x1000;

    private RawCoapPeer(Socket socket, IPEndPoint remote)
    {
        _socket = socket;
        Remote = remote;
    }

    public IPEndPoint Remote { get; private set; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <param name="remote">The server.</param>
    /// <param name="local">The loopback address to send from (127.0.0.1 unless set; any 127/8 address works on Linux).</param>
    public static RawCoapPeer Create(IPEndPoint remote, IPAddress? local = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(local ?? IPAddress.Loopback, 0));
        return new RawCoapPeer(socket, remote);
    }

    public ushort NextMessageId() => _nextMessageId++;

    public async Task SendAsync(CoapMessage message)
        => await _socket.SendToAsync(CoapMessageEncoder.Encode(message), SocketFlags.None, Remote);

    /// <summary>The next datagram, decoded; null when nothing arrives within <paramref name="timeout"/>.</summary>
    public async Task<CoapMessage?> TryReceiveAsync(TimeSpan timeout)
    {
        if (_unclaimed.TryDequeue(out var early))
        {
            return early;
        }

        return await TryReceiveRawAsync(timeout);
    }

    private async Task<CoapMessage?> TryReceiveRawAsync(TimeSpan timeout)
    {
        var buffer = new byte[2048];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var result = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            Remote = (IPEndPoint)result.RemoteEndPoint;
            return CoapMessageDecoder.Decode(buffer.AsMemory(0, result.ReceivedBytes).ToArray());
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async Task<CoapMessage> ReceiveAsync(TimeSpan? timeout = null)
        => await TryReceiveAsync(timeout ?? TimeSpan.FromSeconds(3)) ?? throw new TimeoutException("Nothing received.");

    /// <summary>Sends a CON request and returns its piggybacked response.</summary>
    public async Task<CoapMessage> RequestAsync(CoapMessage request)
    {
        var sent = request with { Type = CoapMessageType.Confirmable, MessageId = NextMessageId() };
        await SendAsync(sent);
        while (true)
        {
            var reply = await TryReceiveRawAsync(TimeSpan.FromSeconds(3)) ?? throw new TimeoutException("No response.");
            if (reply.Type == CoapMessageType.Acknowledgement && reply.MessageId == sent.MessageId)
            {
                return reply;
            }

            // A notification that overtook the response is kept for ReceiveAsync.
            _unclaimed.Enqueue(reply);
        }
    }

    public Task AckAsync(CoapMessage message) => SendAsync(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, message.MessageId));

    public Task ResetAsync(CoapMessage message) => SendAsync(CoapMessage.CreateEmpty(CoapMessageType.Reset, message.MessageId));

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
