using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// A UDP socket that sends hand-built CoAP datagrams to one server and hands back exactly what comes back: no retransmission,
/// no acknowledgement, no duplicate detection, so that a test sees the server's message layer as it is (message types, IDs,
/// tokens, repeated replies) and can play a lossy network by sending the same bytes again or by not acknowledging.
/// </summary>
public sealed class RawCoapClient : IDisposable
{
    /// <summary>How long a reply that must come is waited for: generous, for a loaded machine.</summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly IPEndPoint _server;

    public RawCoapClient(IPEndPoint server) => _server = server;

    public IPEndPoint LocalEndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;

    /// <summary>A random message ID (RFC 7252 §4.4 asks only for freshness per peer, which a new socket gives).</summary>
    public static ushort NewMessageId() => (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);

    public static byte[] NewToken(int length = 4) => RandomNumberGenerator.GetBytes(length);

    /// <summary>A request with a random message ID and, unless <paramref name="token"/> is given, a random 4-byte token.</summary>
    public static CoapMessage Request(CoapMessageType type, CoapCode method, string path, byte[]? token = null) =>
        CoapMessage.CreateRequest(method, path, type) with { MessageId = NewMessageId(), Token = token ?? NewToken() };

    public async Task SendAsync(ReadOnlyMemory<byte> datagram) => await _udp.SendAsync(datagram, _server);

    /// <summary>Encodes <paramref name="message"/> and sends it; returns the bytes sent, to send again as a retransmission.</summary>
    public async Task<byte[]> SendAsync(CoapMessage message)
    {
        byte[] datagram = CoapMessageEncoder.Encode(message);
        await SendAsync(datagram);
        return datagram;
    }

    /// <summary>The next datagram from the server.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">None within <paramref name="timeout"/> (default <see cref="ReplyTimeout"/>).</exception>
    public async Task<byte[]> ReceiveDatagramAsync(string expectation, TimeSpan? timeout = null)
        => await TryReceiveDatagramAsync(timeout ?? ReplyTimeout)
            ?? throw new Xunit.Sdk.XunitException($"No datagram from {_server} within {(timeout ?? ReplyTimeout).TotalSeconds} s; expected {expectation}.");

    /// <summary>The next datagram from the server, or null when none comes within <paramref name="timeout"/>.</summary>
    public async Task<byte[]?> TryReceiveDatagramAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            UdpReceiveResult result;
            try
            {
                result = await _udp.ReceiveAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            // Only the server's datagrams count; nothing else should reach an ephemeral loopback port, but nothing else is judged.
            if (result.RemoteEndPoint.Equals(_server))
            {
                return result.Buffer;
            }
        }
    }

    /// <summary>The next message from the server, decoded; a datagram that is no valid CoAP message fails the test.</summary>
    public async Task<CoapMessage> ReceiveAsync(string expectation, TimeSpan? timeout = null) => Decode(await ReceiveDatagramAsync(expectation, timeout));

    /// <summary>Sends <paramref name="request"/> and returns the first reply.</summary>
    public async Task<CoapMessage> ExchangeAsync(CoapMessage request)
    {
        await SendAsync(request);
        return await ReceiveAsync($"a reply to {request}");
    }

    /// <summary>Acknowledges a confirmable message from the server with an empty ACK of its message ID (RFC 7252 §4.2).</summary>
    public Task<byte[]> AcknowledgeAsync(CoapMessage confirmable) =>
        SendAsync(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, confirmable.MessageId));

    public static CoapMessage Decode(byte[] datagram)
    {
        var status = CoapMessageDecoder.TryDecode(datagram, out var message);
        Assert.True(status == CoapDecodeStatus.Success, $"The server sent a datagram that is no CoAP message ({status}): {Convert.ToHexString(datagram)}");
        return message!;
    }

    public void Dispose() => _udp.Dispose();
}
