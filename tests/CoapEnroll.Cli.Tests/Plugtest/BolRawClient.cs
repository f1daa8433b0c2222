using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Tests.Plugtest;

/// <summary>
/// A CoAP peer made of a bare UDP socket: it sends messages built with our codec exactly as the test writes them (no layer adds,
/// acknowledges or retransmits anything unless the test asks) and keeps every datagram the server sends, decoded, in arrival
/// order, for the test to take what it expects. This is how the tests see what is on the wire.
/// </summary>
public sealed class BolRawClient : IAsyncDisposable
{
    private static readonly TimeSpan s_retransmit = TimeSpan.FromSeconds(2);

    private readonly UdpClient _udp;
    private readonly List<CoapMessage> _inbox = [];
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;
    private int _messageId = RandomNumberGenerator.GetInt32(ushort.MaxValue);

    public BolRawClient(int port)
    {
        _udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        _udp.Connect(IPAddress.Loopback, port);
        _receiving = ReceiveLoopAsync();
    }

    /// <summary>
    /// When true (the default) a confirmable response or notification is acknowledged as it arrives, as a live client does; a
    /// test of a client that went away turns it off.
    /// </summary>
    public bool AutoAcknowledge { get; set; } = true;

    /// <summary>The next message ID of this client.</summary>
    public ushort NextMessageId() => (ushort)Interlocked.Increment(ref _messageId);

    public static byte[] NewToken() => RandomNumberGenerator.GetBytes(4);

    /// <summary>Sends <paramref name="message"/> as it is.</summary>
    public async Task SendAsync(CoapMessage message)
    {
        byte[] datagram = CoapMessageEncoder.Encode(message);
        await _udp.SendAsync(datagram);
    }

    /// <summary>
    /// Sends a request with a fresh message ID (and a fresh token unless it has one) and returns its response: the piggybacked
    /// one, or for a NON request the response with its token. A CON request is sent again every 2 s until an answer comes.
    /// </summary>
    public async Task<CoapMessage> RequestAsync(CoapMessage request, TimeSpan? timeout = null)
    {
        var sent = request with { MessageId = NextMessageId(), Token = request.Token.IsEmpty ? NewToken() : request.Token };
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            await SendAsync(sent);
            var response = await TryReceiveAsync(
                m => sent.Type == CoapMessageType.Confirmable
                    ? (m.Type is CoapMessageType.Acknowledgement or CoapMessageType.Reset && m.MessageId == sent.MessageId)
                    : (m.IsResponse && m.Token.Span.SequenceEqual(sent.Token.Span)),
                sent.Type == CoapMessageType.Confirmable ? s_retransmit : TimeSpan.FromSeconds(5), deadline.Token);
            if (response is { IsEmpty: true, Type: CoapMessageType.Acknowledgement })
            {
                // RFC 7252 §5.2.2: an empty ACK announces a separate response, which comes with the request's token.
                return await ReceiveAsync(m => m.IsResponse && m.Token.Span.SequenceEqual(sent.Token.Span), timeout ?? TimeSpan.FromSeconds(20),
                    $"separate response to {sent}");
            }

            if (response is not null)
            {
                return response;
            }

            if (deadline.IsCancellationRequested)
            {
                throw new Xunit.Sdk.XunitException($"No answer to {sent} within {(timeout ?? TimeSpan.FromSeconds(20)).TotalSeconds} s.");
            }
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> and, while the response says more blocks follow (Block2 M=1), asks for the next ones with the
    /// same request and the block size the server chose (RFC 7959 §2.4). Returns every response and the reassembled body.
    /// </summary>
    public async Task<(IReadOnlyList<CoapMessage> Responses, byte[] Body)> FetchAsync(CoapMessage request)
    {
        var responses = new List<CoapMessage>();
        var body = new List<byte>();
        var next = request;
        while (true)
        {
            var response = await RequestAsync(next with { Token = default });
            responses.Add(response);
            body.AddRange(response.Payload.ToArray());
            if (response.Block2 is not { More: true } block2 || responses.Count > 10_000)
            {
                return (responses, body.ToArray());
            }

            next = request.WithBlock2(new BlockOption(block2.Number + 1, false, block2.SizeExponent));
        }
    }

    /// <summary>Takes the first message (received or arriving within <paramref name="timeout"/>) that <paramref name="match"/> accepts.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">None came.</exception>
    public async Task<CoapMessage> ReceiveAsync(Func<CoapMessage, bool> match, TimeSpan timeout, string what)
        => await TryReceiveAsync(match, timeout, CancellationToken.None)
            ?? throw new Xunit.Sdk.XunitException($"No {what} within {timeout.TotalSeconds} s; received meanwhile: {Describe()}");

    /// <summary>As <see cref="ReceiveAsync"/>, null when nothing matching comes in time.</summary>
    public async Task<CoapMessage?> TryReceiveAsync(Func<CoapMessage, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            lock (_inbox)
            {
                int index = _inbox.FindIndex(m => match(m));
                if (index >= 0)
                {
                    var found = _inbox[index];
                    _inbox.RemoveAt(index);
                    return found;
                }
            }

            try
            {
                await _arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
    }

    /// <summary>Acknowledges a confirmable message (an empty ACK with its message ID).</summary>
    public Task AcknowledgeAsync(CoapMessage message) => SendAsync(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, message.MessageId));

    /// <summary>Rejects a message with an empty Reset carrying its message ID (RFC 7252 §4.2, §4.3).</summary>
    public Task ResetAsync(CoapMessage message) => SendAsync(CoapMessage.CreateEmpty(CoapMessageType.Reset, message.MessageId));

    /// <summary>Drops everything received so far and not taken.</summary>
    public void Clear()
    {
        lock (_inbox)
        {
            _inbox.Clear();
        }
    }

    /// <summary>What is waiting in the inbox, for assertion messages.</summary>
    public string Describe()
    {
        lock (_inbox)
        {
            return _inbox.Count == 0 ? "nothing" : string.Join("; ", _inbox.Select(m => m.ToString()));
        }
    }

    private async Task ReceiveLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult datagram;
            try
            {
                datagram = await _udp.ReceiveAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                // An ICMP error from an earlier send; the socket stays usable.
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            if (CoapMessageDecoder.TryDecode(datagram.Buffer, out var message) != CoapDecodeStatus.Success || message is null)
            {
                continue;
            }

            lock (_inbox)
            {
                _inbox.Add(message);
            }

            _arrived.Release();
            if (AutoAcknowledge && message.Type == CoapMessageType.Confirmable && message.IsResponse)
            {
                await AcknowledgeAsync(message);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        await _receiving.WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
        _arrived.Dispose();
    }
}
