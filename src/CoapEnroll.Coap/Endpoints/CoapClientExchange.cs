using System.Net;
using System.Threading.Channels;

namespace CoapEnroll.Coap;

/// <summary>
/// One request and the responses to it, matched by token (RFC 7252 §5.3.2). A plain request has
/// one response; an observation (RFC 7641) has a stream of them. The exchange holds one of the
/// peer's NSTART slots from <see cref="SendAsync"/> until its first response or failure.
/// </summary>
public sealed class CoapClientExchange : IAsyncDisposable
{
    private readonly CoapEndpoint _endpoint;
    private readonly Channel<CoapMessage> _responses = Channel.CreateBounded<CoapMessage>(
        new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private SemaphoreSlim? _slot;
    private int _slotHeld;
    private int _closed;
    private ushort _messageId;
    private PeerMessageKey? _nonConfirmableKey;

    internal CoapClientExchange(CoapEndpoint endpoint, CoapMessage request, EndPoint remote, PeerTokenKey key)
    {
        _endpoint = endpoint;
        Request = request;
        RemoteEndPoint = remote;
        Key = key;
    }

    /// <summary>The request with its token.</summary>
    public CoapMessage Request { get; private set; }

    public EndPoint RemoteEndPoint { get; }

    internal PeerTokenKey Key { get; }

    /// <summary>
    /// Sends the request: a CON is retransmitted until acknowledged (or answered), a NON goes once.
    /// Completes when the request is acknowledged; the response is read with <see cref="ReadResponseAsync"/>.
    /// </summary>
    public async Task SendAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _slotHeld) == 0)
        {
            await AcquireSlotAsync(cancellationToken);
        }

        try
        {
            _messageId = await _endpoint.AllocateMessageIdAsync(RemoteEndPoint, cancellationToken);
            var request = Request with { MessageId = _messageId };
            Request = request;
            if (request.Type == CoapMessageType.Confirmable)
            {
                var reply = await _endpoint.SendConfirmableAsync(request, RemoteEndPoint, cancellationToken);

                // §5.3.2: a piggybacked response must echo the token; one that does not answers nothing we asked.
                if (!reply.IsEmpty && !reply.Token.Span.SequenceEqual(request.Token.Span))
                {
                    throw new CoapProtocolException(CoapError.ProtocolViolation,
                        $"{RemoteEndPoint} acknowledged message {request.MessageId} with a response for another token.");
                }
            }
            else
            {
                UntrackNonConfirmable();
                _nonConfirmableKey = new PeerMessageKey(RemoteEndPoint, request.MessageId);
                _endpoint.TrackNonConfirmable(_nonConfirmableKey.Value, this);
                await _endpoint.SendAsync(request, RemoteEndPoint, cancellationToken);
            }
        }
        catch
        {
            ReleaseSlot();
            throw;
        }
    }

    // §4.7 NSTART: the slot counts as held only once it is acquired. A wait that is cancelled (or
    // cut short by the endpoint closing) holds nothing, so nothing may be released for it later.
    private async Task AcquireSlotAsync(CancellationToken cancellationToken)
    {
        var slot = _endpoint.GetPeerSlots(RemoteEndPoint);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _endpoint.StoppingToken);
        try
        {
            await slot.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CoapProtocolException(CoapError.EndpointClosed, "The endpoint was closed.");
        }

        _slot = slot;
        if (Interlocked.CompareExchange(ref _slotHeld, 1, 0) != 0)
        {
            // Failed or disposed while waiting: hand the slot straight back.
            slot.Release();
            throw Volatile.Read(ref _closed) != 0
                ? new ObjectDisposedException(nameof(CoapClientExchange))
                : new CoapProtocolException(CoapError.EndpointClosed, "The endpoint was closed.");
        }
    }

    /// <summary>The next response, waiting at most the endpoint's response timeout.</summary>
    /// <exception cref="CoapProtocolException">No response within the response timeout, or the endpoint closed.</exception>
    public async ValueTask<CoapMessage> ReadResponseAsync(CancellationToken cancellationToken)
    {
        if (_responses.Reader.TryRead(out var ready))
        {
            return ready;
        }

        // The timeout cancels the read itself: a read merely abandoned (Task.WaitAsync) would stay
        // registered with the channel and swallow the next response, such as a later notification.
        var timeout = _endpoint.Options.ResponseTimeout;
        using var timeoutSource = new CancellationTokenSource(timeout, _endpoint.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            return await _responses.Reader.ReadAsync(linked.Token);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CoapProtocolException(CoapError.Timeout, $"No response from {RemoteEndPoint} within {timeout.TotalSeconds:0.###} s.");
        }
        catch (ChannelClosedException ex) when (ex.InnerException is CoapProtocolException inner)
        {
            throw new CoapProtocolException(inner.Error, inner.Message, ex);
        }
    }

    /// <summary>Every response as it arrives, until cancelled (observe notifications).</summary>
    public async IAsyncEnumerable<CoapMessage> ReadAllResponsesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await _responses.Reader.WaitToReadAsync(cancellationToken))
        {
            while (_responses.Reader.TryRead(out var response))
            {
                yield return response;
            }
        }
    }

    internal bool Deliver(CoapMessage response)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return false;
        }

        // A response proves the request arrived, even when its ACK was lost.
        if (Request.Type == CoapMessageType.Confirmable)
        {
            _endpoint.CompleteConfirmable(RemoteEndPoint, _messageId, response);
        }

        ReleaseSlot();
        return _responses.Writer.TryWrite(response);
    }

    internal void Fail(Exception error)
    {
        ReleaseSlot();
        _responses.Writer.TryComplete(error);
    }

    private void UntrackNonConfirmable()
    {
        if (_nonConfirmableKey is { } key)
        {
            _endpoint.UntrackNonConfirmable(key, this);
            _nonConfirmableKey = null;
        }
    }

    private void ReleaseSlot()
    {
        if (Interlocked.Exchange(ref _slotHeld, 2) == 1)
        {
            _slot?.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _endpoint.CloseExchange(this);
            UntrackNonConfirmable();
            ReleaseSlot();
            _responses.Writer.TryComplete();
        }

        return ValueTask.CompletedTask;
    }
}
