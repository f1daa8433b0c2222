using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Coap;

/// <summary>
/// The CoAP message layer on one <see cref="IDatagramChannel"/> (RFC 7252 §4): one receive loop,
/// confirmable retransmission, duplicate detection, piggybacked and separate responses, ping and
/// reset, and token matching for the client side. Server and client roles share one endpoint, as
/// CoAP endpoints are symmetric (observe notifications flow to clients, ACKs to servers).
/// </summary>
public sealed partial class CoapEndpoint : IAsyncDisposable
{
    private const int ReceiveBufferSize = 65536;

    /// <summary>The shortest time between two log lines about duplicate detection bounds.</summary>
    internal static readonly TimeSpan BoundReportInterval = TimeSpan.FromSeconds(10);

    private readonly IDatagramChannel _channel;
    private readonly CoapEndpointOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationToken _stoppingToken;
    // The receive loop's own: cancelled only after the channel is disposed, so that a channel whose pending receive ends as
    // closed on disposal (a DTLS client session) ends it without the exception a cancelled receive throws.
    private readonly CancellationTokenSource _receiveStopping = new();
    private readonly ConcurrentDictionary<PeerMessageKey, TaskCompletionSource<CoapMessage>> _pendingConfirmables = new();
    private readonly ConcurrentDictionary<PeerTokenKey, CoapClientExchange> _exchanges = new();
    private readonly ConcurrentDictionary<PeerMessageKey, CoapClientExchange> _nonConfirmableRequests = new();
    private readonly ConcurrentDictionary<EndPoint, SemaphoreSlim> _peerSlots = new();
    private readonly DeduplicationCache _deduplication;
    private readonly MessageIdAllocator _messageIds;
    private readonly RequestsInProgress _requestsInProgress;
    private readonly ReportThrottle _boundReports = new(BoundReportInterval);
    private readonly ReportThrottle _messageIdReports = new(BoundReportInterval);
    private readonly ReportThrottle _messageIdBoundReports = new(BoundReportInterval);
    private ICoapRequestHandler? _handler;
    private Task? _receiveLoop;
    private Task? _sweepLoop;
    private PeriodicTimer? _sweepTimer;
    private int _disposed;

    public CoapEndpoint(IDatagramChannel channel, CoapEndpointOptions? options = null, ILogger<CoapEndpoint>? logger = null, TimeProvider? timeProvider = null)
    {
        _channel = channel;
        _options = options ?? new CoapEndpointOptions();
        _options.Validate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _deduplication = new DeduplicationCache(_options.MaxDeduplicationEntries, _options.MaxDeduplicationEntriesPerPeer);
        _messageIds = new MessageIdAllocator(_time, _options.ExchangeLifetime, _options.MaxMessageIdPeers);
        _requestsInProgress = new RequestsInProgress(_options.MaxRequestsInProgressPerPeer, _options.MaxRequestsInProgressPerAddress,
            _options.MaxRequestsInProgress, _time, this);
        _stoppingToken = _stopping.Token;
    }

    /// <summary>Raised when a peer answers one of our messages with Reset (used by observe to cancel, RFC 7641 §3.6).</summary>
    public event Action<EndPoint, ushort>? ResetReceived;

    public EndPoint LocalEndPoint => _channel.LocalEndPoint;

    public CoapEndpointOptions Options => _options;

    /// <summary>The largest message the channel carries in one datagram.</summary>
    public int MaxMessageSize => _channel.MaxDatagramSize;

    internal TimeProvider TimeProvider => _time;

    /// <summary>Cancelled when the endpoint is disposed; usable after that too.</summary>
    internal CancellationToken StoppingToken => _stoppingToken;

    internal int DeduplicationEntries => _deduplication.Count;

    internal int DeduplicationPeers => _deduplication.PeerCount;

    internal int RequestsInProgressCount => _requestsInProgress.Total;

    /// <summary>Starts the receive loop. Requests go to <paramref name="handler"/>; without one they get 4.04.</summary>
    public void Start(ICoapRequestHandler? handler = null)
    {
        if (_receiveLoop is not null)
        {
            throw new InvalidOperationException("The endpoint is already started.");
        }

        _handler = handler;
        var period = TimeSpan.FromSeconds(Math.Clamp(_options.NonLifetime.TotalSeconds / 10, 0.05, 5));
        _sweepTimer = new PeriodicTimer(period, _time);
        CancellationToken receiveStopping = _receiveStopping.Token;
        _receiveLoop = Task.Run(() => ReceiveLoopAsync(receiveStopping));
        _sweepLoop = Task.Run(() => SweepLoopAsync(_sweepTimer));
    }

    /// <summary>
    /// A fresh message ID for a message to <paramref name="remote"/>: sequential per peer from a random
    /// start, never one the peer may still remember (RFC 7252 §4.4). Waits when the peer's IDs are
    /// exhausted, which only a sender of more than about 250 messages a second to one peer meets.
    /// </summary>
    public async ValueTask<ushort> AllocateMessageIdAsync(EndPoint remote, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryAllocateMessageId(remote, out ushort messageId, out var retryAfter))
            {
                return messageId;
            }

            await Task.Delay(retryAfter, _time, cancellationToken);
        }
    }

    private bool TryAllocateMessageId(EndPoint remote, out ushort messageId, out TimeSpan retryAfter)
    {
        bool allocated = _messageIds.TryAllocate(remote, out messageId, out retryAfter, out bool evicted);
        if (evicted)
        {
            CoapMetrics.MessageIdBoundHit.Add(1);
            if (_messageIdBoundReports.TryReport(_time.GetTimestamp(), _time, out long unreported))
            {
                LogMessageIdBoundHit(remote, _options.MaxMessageIdPeers, unreported);
            }
        }

        return allocated;
    }

    /// <summary>A fresh random token of the configured length.</summary>
    public byte[] NewToken()
    {
        var token = new byte[_options.TokenLength];
        RandomNumberGenerator.Fill(token);
        return token;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        _sweepTimer?.Dispose(); // ends the sweep loop's wait with false, where cancelling it would throw
        await _channel.DisposeAsync();
        await _receiveStopping.CancelAsync();
        foreach (var task in new[] { _receiveLoop, _sweepLoop })
        {
            if (task is not null)
            {
                try
                {
                    await task;
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        foreach (var pending in _pendingConfirmables.Values)
        {
            pending.TrySetException(EndpointClosed());
        }

        foreach (var exchange in _exchanges.Values)
        {
            exchange.Fail(EndpointClosed());
        }

        _stopping.Dispose();
        _receiveStopping.Dispose();
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                DatagramReceiveResult result;
                try
                {
                    result = await _channel.ReceiveOrClosedAsync(buffer, cancellationToken);
                    if (result.IsClosed)
                    {
                        break;
                    }
                }
                catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (RemoteUnreachableException ex)
                {
                    FailPeer(ex.RemoteEndPoint, ex);
                    continue;
                }
                catch (Exception ex)
                {
                    LogReceiveFailed(ex);
                    if (ex is ObjectDisposedException)
                    {
                        break;
                    }

                    continue;
                }

                // The message keeps slices of its datagram, so each datagram gets its own exact copy;
                // the receive buffer itself is pooled and reused.
                byte[] datagram = buffer.AsSpan(0, result.ReceivedBytes).ToArray();
                try
                {
                    ProcessDatagram(datagram, result.RemoteEndPoint);
                }
                catch (Exception ex)
                {
                    // Nothing a peer sends may stop the loop that serves every other peer.
                    LogProcessingFailed(ex, result.RemoteEndPoint);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Sweeps until <see cref="DisposeAsync"/> disposes <paramref name="timer"/>, which ends the wait with false.</summary>
    private async Task SweepLoopAsync(PeriodicTimer timer)
    {
        while (await timer.WaitForNextTickAsync(CancellationToken.None))
        {
            long now = _time.GetTimestamp();
            _deduplication.Sweep(now);
            _messageIds.Sweep(now);
        }
    }

    internal void ProcessDatagram(ReadOnlyMemory<byte> datagram, EndPoint remote)
    {
        CoapMetrics.MessagesReceived.Add(1);
        var status = CoapMessageDecoder.TryDecode(datagram, out var message);
        if (status != CoapDecodeStatus.Success)
        {
            CoapMetrics.Malformed.Add(1);
            LogMalformed(remote, status);

            // RFC 7252 §4.2: a CON with a format error is rejected with RST; §4.3: a NON is silently dropped.
            if (CoapMessageDecoder.TryReadHeader(datagram.Span, out var type, out _, out ushort mid) && type == CoapMessageType.Confirmable)
            {
                SendInBackground(CoapMessage.CreateEmpty(CoapMessageType.Reset, mid), remote);
            }

            return;
        }

        switch (message!.Type)
        {
            case CoapMessageType.Acknowledgement when message.IsRequest:
            case CoapMessageType.Reset when !message.IsEmpty:
                // §4.2: an ACK carries a response or nothing, an RST nothing; anything else is silently ignored.
                break;
            case CoapMessageType.Acknowledgement:
            case CoapMessageType.Reset:
                OnAckOrReset(message, remote);
                break;
            case CoapMessageType.Confirmable when message.IsEmpty:
                // CoAP ping (§4.3): an empty CON is answered with RST.
                SendInBackground(CoapMessage.CreateEmpty(CoapMessageType.Reset, message.MessageId), remote);
                break;
            case CoapMessageType.NonConfirmable when message.IsEmpty:
                break;
            default:
                if (message.IsRequest)
                {
                    OnRequest(message, remote);
                }
                else
                {
                    OnResponse(message, remote);
                }

                break;
        }
    }

    private void OnAckOrReset(CoapMessage message, EndPoint remote)
    {
        // An ACK or RST must carry the message ID of something we sent (§4.2); anything else is ignored.
        if (!_pendingConfirmables.TryRemove(new PeerMessageKey(remote, message.MessageId), out var pending))
        {
            if (message.Type == CoapMessageType.Reset)
            {
                // A reset to a NON: an unwanted notification (RFC 7641 §3.6), or a NON request the
                // peer rejects (§4.3), whose exchange would otherwise wait out its response timeout.
                if (_nonConfirmableRequests.TryRemove(new PeerMessageKey(remote, message.MessageId), out var rejected))
                {
                    rejected.Fail(new CoapProtocolException(CoapError.Reset, $"{remote} reset message {message.MessageId}."));
                }

                ResetReceived?.Invoke(remote, message.MessageId);
            }

            return;
        }

        pending.TrySetResult(message);
        if (message.Type == CoapMessageType.Reset)
        {
            ResetReceived?.Invoke(remote, message.MessageId);
        }
        else if (message.IsResponse)
        {
            // §5.4.1: a piggybacked response with an unrecognised critical option is rejected. The
            // request did arrive (no retransmission), but the exchange gets no usable response.
            if (message.TryFindRejectableOption(out var bad))
            {
                FailExchange(message, remote, bad);
                return;
            }

            DeliverResponse(message, remote);
        }
    }

    private void FailExchange(CoapMessage response, EndPoint remote, CoapOption bad)
    {
        if (_exchanges.TryGetValue(PeerTokenKey.Create(remote, response.Token.Span), out var exchange))
        {
            exchange.Fail(new CoapProtocolException(CoapError.BadOption, $"{remote} sent a response with the unrecognized or malformed critical option {bad.Number}."));
        }
    }

    private void OnResponse(CoapMessage message, EndPoint remote)
    {
        bool confirmable = message.Type == CoapMessageType.Confirmable;
        var lifetime = confirmable ? _options.ExchangeLifetime : _options.NonLifetime;
        long now = _time.GetTimestamp();
        if (!Remember(new PeerMessageKey(remote, message.MessageId), now, lifetime, out var entry))
        {
            CoapMetrics.Duplicates.Add(1);

            // An accepted NON response has an empty reply: nothing to send again (an empty datagram is not a message).
            if (entry.Reply is { Length: > 0 } reply)
            {
                SendRawInBackground(reply, remote);
            }

            return;
        }

        if (message.TryFindRejectableOption(out var bad))
        {
            // §5.4.1: a CON or NON response with an unrecognised critical option is rejected (§4.2, §4.3).
            FailExchange(message, remote, bad);
            byte[] reset = CoapMessageEncoder.Encode(CoapMessage.CreateEmpty(CoapMessageType.Reset, message.MessageId));
            entry.Reply = confirmable ? reset : [];
            SendRawInBackground(reset, remote);
            return;
        }

        bool accepted = _exchanges.TryGetValue(PeerTokenKey.Create(remote, message.Token.Span), out var exchange) && exchange.Deliver(message);

        // A separate response is acknowledged (§5.2.2); one nobody waits for is rejected (§4.2, RFC 7641 §3.6).
        var answer = CoapMessage.CreateEmpty(accepted && confirmable ? CoapMessageType.Acknowledgement : CoapMessageType.Reset, message.MessageId);
        if (accepted && !confirmable)
        {
            entry.Reply = [];
            return;
        }

        byte[] encoded = CoapMessageEncoder.Encode(answer);
        entry.Reply = encoded;
        SendRawInBackground(encoded, remote);
    }

    /// <summary>
    /// Records a received message for duplicate detection: true with a fresh entry, false with the entry of the earlier
    /// copy. Counts and reports (rate-limited) when a bound made room for it.
    /// </summary>
    private bool Remember(PeerMessageKey key, long now, TimeSpan lifetime, out DeduplicationCache.Entry entry)
    {
        bool added = _deduplication.TryAdd(key, now, Deadline(now, lifetime), out entry, out DeduplicationBound bound);
        if (bound != DeduplicationBound.None)
        {
            CoapMetrics.DeduplicationBoundHit.Add(1, new KeyValuePair<string, object?>("bound", bound == DeduplicationBound.Peer ? "peer" : "global"));
            ReportBoundHit(key.Peer, bound, now);
        }

        return added;
    }

    /// <summary>Logs a bound hit at most once per <see cref="BoundReportInterval"/>, with how many went unreported since.</summary>
    private void ReportBoundHit(EndPoint peer, DeduplicationBound bound, long now)
    {
        if (!_boundReports.TryReport(now, _time, out long unreported))
        {
            return;
        }

        if (bound == DeduplicationBound.Peer)
        {
            LogPeerBoundHit(peer, _options.MaxDeduplicationEntriesPerPeer, unreported);
        }
        else
        {
            LogGlobalBoundHit(peer, _options.MaxDeduplicationEntries, unreported);
        }
    }

    private void OnRequest(CoapMessage request, EndPoint remote)
    {
        bool confirmable = request.Type == CoapMessageType.Confirmable;
        var lifetime = confirmable ? _options.ExchangeLifetime : _options.NonLifetime;
        var key = new PeerMessageKey(remote, request.MessageId);
        long now = _time.GetTimestamp();
        if (!Remember(key, now, lifetime, out var entry))
        {
            CoapMetrics.Duplicates.Add(1);
            LogDuplicate(remote, request.MessageId);

            // §4.5: a duplicate CON gets the same reply again (none yet while the handler runs); a
            // duplicate NON is silently ignored.
            if (confirmable && entry.Reply is { Length: > 0 } reply)
            {
                SendRawInBackground(reply, remote);
            }

            return;
        }

        if (!confirmable && request.TryFindRejectableOption(out _))
        {
            // §5.4.1: a NON with an unrecognised critical option is rejected (§4.3), not answered with 4.02.
            SendInBackground(CoapMessage.CreateEmpty(CoapMessageType.Reset, request.MessageId), remote);
            return;
        }

        _ = HandleRequestAsync(request, remote, entry);
    }

    private async Task HandleRequestAsync(CoapMessage request, EndPoint remote, DeduplicationCache.Entry entry)
    {
        var cancellationToken = _stoppingToken;
        CoapMetrics.RequestsHandled.Add(1);
        RequestsInProgress.Slot? slot = null;
        try
        {
            // A ValueTask: a handler that completes synchronously, the common case, costs no Task. One that does not is counted
            // in progress until it is answered; past a bound the next request is refused before any handler sees it.
            ValueTask<CoapMessage> invocation = _requestsInProgress.Refuse(remote) is { } refusal
                ? ValueTask.FromResult(refusal)
                : InvokeHandlerAsync(request, remote, cancellationToken);
            if (!invocation.IsCompleted)
            {
                slot = _requestsInProgress.Enter(remote);
            }

            CoapMessage? response = invocation.IsCompletedSuccessfully
                ? invocation.Result
                : await WaitForHandlerAsync(request, remote, entry, invocation.AsTask(), slot, cancellationToken);
            if (response is null)
            {
                // Acknowledged, and answered by a separate response.
                return;
            }

            bool confirmable = request.Type == CoapMessageType.Confirmable;
            ushort messageId = request.MessageId;

            // A NON response does not wait for a free message ID: a peer that sends faster than IDs free up would otherwise
            // hold a waiting response per request, without bound, for up to EXCHANGE_LIFETIME. It loses only its own answers.
            if (!confirmable && !TryAllocateMessageId(remote, out messageId, out _))
            {
                CoapMetrics.ResponsesDropped.Add(1, new KeyValuePair<string, object?>("reason", "message_id"));
                if (_messageIdReports.TryReport(_time.GetTimestamp(), _time, out long unreported))
                {
                    LogMessageIdsExhausted(remote, unreported);
                }

                return;
            }

            CoapMetrics.CountResponse(response.Code);

            // Encoded with the reply's header fields directly, not from a copy of the response that has them.
            byte[] encoded = CoapMessageEncoder.Encode(
                response, confirmable ? CoapMessageType.Acknowledgement : CoapMessageType.NonConfirmable, messageId, request.Token.Span);
            entry.Reply = encoded;
            await SendRawAsync(encoded, remote, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogProcessingFailed(ex, remote);
        }
        finally
        {
            slot?.Release();
        }
    }

    /// <summary>
    /// Waits for a handler that did not complete at once. A confirmable request whose handler takes longer than
    /// SeparateResponseDelay is acknowledged now and answered by a separate response (§5.2.2); then this returns null.
    /// </summary>
    private async Task<CoapMessage?> WaitForHandlerAsync(CoapMessage request, EndPoint remote, DeduplicationCache.Entry entry, Task<CoapMessage> handling,
        RequestsInProgress.Slot? slot, CancellationToken cancellationToken)
    {
        if (request.Type != CoapMessageType.Confirmable)
        {
            return await handling;
        }

        try
        {
            return await handling.WaitAsync(_options.SeparateResponseDelay, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // §5.2.2: acknowledge now, answer later in a confirmable message of its own.
            byte[] ack = CoapMessageEncoder.Encode(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, request.MessageId));
            entry.Reply = ack;
            await SendRawAsync(ack, remote, cancellationToken);
            CoapMessage late = await handling;

            // The handler's work is done: the separate response's exchange (its retransmissions) no longer holds the peer's slot.
            slot?.Release();
            CoapMetrics.CountResponse(late.Code);
            var separate = late with
            {
                Type = CoapMessageType.Confirmable,
                MessageId = await AllocateMessageIdAsync(remote, cancellationToken),
                Token = request.Token,
            };
            try
            {
                await SendConfirmableAsync(separate, remote, cancellationToken);
            }
            catch (CoapProtocolException ex)
            {
                LogSeparateResponseFailed(remote, ex.Error);
            }

            return null;
        }
    }

    private async ValueTask<CoapMessage> InvokeHandlerAsync(CoapMessage request, EndPoint remote, CancellationToken cancellationToken)
    {
        // §5.4.1: an unrecognised critical option in a request gets 4.02 Bad Option.
        if (request.TryFindRejectableOption(out var bad))
        {
            return new CoapMessage { Code = CoapCode.BadOption }
                .WithPayload($"Unrecognized or malformed critical option {bad.Number} ({CoapOptionRegistry.GetName(bad.Number)})");
        }

        // §5.7.2: nothing built on this endpoint is a forward proxy (the EST registrar and CMP proxy are reverse
        // proxies on their own resources), so a request asking to be forwarded is refused before any handler sees it.
        if (request.Options.Contains(CoapOptionNumber.ProxyUri) || request.Options.Contains(CoapOptionNumber.ProxyScheme))
        {
            return new CoapMessage { Code = CoapCode.ProxyingNotSupported }.WithPayload("This server is not a forward proxy (Proxy-Uri, Proxy-Scheme)");
        }

        if (_handler is null)
        {
            return new CoapMessage { Code = CoapCode.NotFound };
        }

        try
        {
            return await _handler.HandleAsync(new CoapRequestContext(request, remote, this), cancellationToken);
        }
        catch (CoapProtocolException ex) when (ex.Error == CoapError.BadOption)
        {
            return new CoapMessage { Code = CoapCode.BadOption }.WithPayload(ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogHandlerFailed(ex, remote, request.UriPath);
            return new CoapMessage { Code = CoapCode.InternalServerError };
        }
    }

    /// <summary>
    /// Sends a confirmable message and retransmits it with exponential back-off until it is
    /// acknowledged (§4.2). Returns the ACK (which may carry a piggybacked response).
    /// </summary>
    /// <exception cref="CoapProtocolException">Reset by the peer, or no ACK after MAX_RETRANSMIT retransmissions.</exception>
    public async Task<CoapMessage> SendConfirmableAsync(CoapMessage message, EndPoint remote, CancellationToken cancellationToken)
    {
        if (message.Type != CoapMessageType.Confirmable)
        {
            throw new ArgumentException("The message is not confirmable.", nameof(message));
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var key = new PeerMessageKey(remote, message.MessageId);
        var pending = new TaskCompletionSource<CoapMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pendingConfirmables.TryAdd(key, pending))
        {
            throw new InvalidOperationException($"Message ID {message.MessageId} is already outstanding to {remote}.");
        }

        if (IsDisposedAfterRegistering())
        {
            // DisposeAsync may have failed the pending messages before this one was added.
            pending.TrySetException(EndpointClosed());
        }

        try
        {
            byte[] encoded = CoapMessageEncoder.Encode(message);
            double factor = 1 + (Random.Shared.NextDouble() * (_options.AckRandomFactor - 1));
            TimeSpan timeout = _options.AckTimeout * factor;
            for (int attempt = 0; ; attempt++)
            {
                if (attempt > 0)
                {
                    CoapMetrics.Retransmissions.Add(1);
                    LogRetransmit(remote, message.MessageId, attempt);
                }

                try
                {
                    await SendRawAsync(encoded, remote, cancellationToken);
                }
                catch (ObjectDisposedException) when (Volatile.Read(ref _disposed) != 0)
                {
                    throw EndpointClosed();
                }

                try
                {
                    CoapMessage reply = await pending.Task.WaitAsync(timeout, _time, cancellationToken);
                    return reply.Type == CoapMessageType.Reset
                        ? throw new CoapProtocolException(CoapError.Reset, $"{remote} reset message {message.MessageId}.")
                        : reply;
                }
                catch (TimeoutException) when (attempt < _options.MaxRetransmit)
                {
                    timeout *= 2;
                }
                catch (TimeoutException)
                {
                    throw new CoapProtocolException(CoapError.Timeout, $"No acknowledgement from {remote} after {_options.MaxRetransmit} retransmissions.");
                }
            }
        }
        finally
        {
            _pendingConfirmables.TryRemove(key, out _);
        }
    }

    /// <summary>Treats a response as the acknowledgement of the confirmable request it answers (§5.2.2: the ACK may be lost).</summary>
    internal void CompleteConfirmable(EndPoint remote, ushort messageId, CoapMessage response)
    {
        if (_pendingConfirmables.TryRemove(new PeerMessageKey(remote, messageId), out var pending))
        {
            pending.TrySetResult(response);
        }
    }

    /// <summary>Sends a message once, with no retransmission (NON, or a reply).</summary>
    public ValueTask SendAsync(CoapMessage message, EndPoint remote, CancellationToken cancellationToken)
        => SendRawAsync(CoapMessageEncoder.Encode(message), remote, cancellationToken);

    private async ValueTask SendRawAsync(ReadOnlyMemory<byte> datagram, EndPoint remote, CancellationToken cancellationToken)
    {
        CoapMetrics.MessagesSent.Add(1);
        await _channel.SendAsync(datagram, remote, cancellationToken);
    }

    private void SendInBackground(CoapMessage message, EndPoint remote) => SendRawInBackground(CoapMessageEncoder.Encode(message), remote);

    private void SendRawInBackground(byte[] datagram, EndPoint remote)
    {
        var send = SendRawAsync(datagram, remote, _stoppingToken);
        if (!send.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(send.AsTask(), remote);
        }
    }

    private async Task ObserveAsync(Task task, EndPoint remote)
    {
        try
        {
            await task;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSendFailed(ex, remote);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Fails at once what waits on <paramref name="remote"/>, which the kernel reported as not listening (a client channel only).</summary>
    private void FailPeer(EndPoint remote, RemoteUnreachableException ex)
    {
        foreach (var (key, pending) in _pendingConfirmables)
        {
            if (key.Peer.Equals(remote))
            {
                pending.TrySetException(new CoapProtocolException(CoapError.Unreachable, ex.Message, ex));
            }
        }

        foreach (var (key, exchange) in _exchanges)
        {
            if (key.Peer.Equals(remote))
            {
                exchange.Fail(new CoapProtocolException(CoapError.Unreachable, ex.Message, ex));
            }
        }
    }

    private static CoapProtocolException EndpointClosed() => new(CoapError.EndpointClosed, "The endpoint was closed.");

    // Registering and then reading the flag, against DisposeAsync setting the flag and then
    // enumerating: with a full fence on both sides, one of the two always sees the other.
    private bool IsDisposedAfterRegistering() => Interlocked.CompareExchange(ref _disposed, 0, 0) != 0;

    // From the same timestamp as the entry's creation: the cache queues entries by lifetime (expiry - creation).
    private long Deadline(long now, TimeSpan lifetime) => now + (long)(lifetime.TotalSeconds * _time.TimestampFrequency);

    // ---- client side -------------------------------------------------------------------------

    /// <summary>
    /// Opens an exchange for <paramref name="request"/>: registers its token (generating one when
    /// the request has none) so that every response to it is delivered to the exchange.
    /// </summary>
    public CoapClientExchange OpenExchange(CoapMessage request, EndPoint remote)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!request.IsRequest)
        {
            throw new ArgumentException("Not a request.", nameof(request));
        }

        while (true)
        {
            var withToken = request.Token.IsEmpty && _options.TokenLength > 0 ? request with { Token = NewToken() } : request;
            var key = PeerTokenKey.Create(remote, withToken.Token.Span);
            var exchange = new CoapClientExchange(this, withToken, remote, key);
            if (_exchanges.TryAdd(key, exchange))
            {
                if (IsDisposedAfterRegistering())
                {
                    exchange.Fail(EndpointClosed());
                }

                return exchange;
            }

            if (!request.Token.IsEmpty)
            {
                throw new InvalidOperationException("An exchange with this token is already open to this peer.");
            }
        }
    }

    /// <summary>Sends a request and returns its (first) response.</summary>
    /// <exception cref="CoapProtocolException">Reset, retransmission timeout, or no response within the response timeout.</exception>
    public async Task<CoapMessage> RequestAsync(CoapMessage request, EndPoint remote, CancellationToken cancellationToken)
    {
        await using var exchange = OpenExchange(request, remote);
        await exchange.SendAsync(cancellationToken);
        return await exchange.ReadResponseAsync(cancellationToken);
    }

    /// <summary>Lets an RST to a NON request reach its exchange (§4.3); forgotten once the exchange closes.</summary>
    internal void TrackNonConfirmable(PeerMessageKey key, CoapClientExchange exchange) => _nonConfirmableRequests[key] = exchange;

    internal void UntrackNonConfirmable(PeerMessageKey key, CoapClientExchange exchange)
        => _nonConfirmableRequests.TryRemove(new KeyValuePair<PeerMessageKey, CoapClientExchange>(key, exchange));

    internal void CloseExchange(CoapClientExchange exchange) => _exchanges.TryRemove(new KeyValuePair<PeerTokenKey, CoapClientExchange>(exchange.Key, exchange));

    internal SemaphoreSlim GetPeerSlots(EndPoint remote) => _peerSlots.GetOrAdd(remote, _ => new SemaphoreSlim(_options.NStart, _options.NStart));

    private void DeliverResponse(CoapMessage response, EndPoint remote)
    {
        if (_exchanges.TryGetValue(PeerTokenKey.Create(remote, response.Token.Span), out var exchange))
        {
            exchange.Deliver(response);
        }
    }

    [LoggerMessage(1, LogLevel.Debug, "Malformed datagram from {Remote}: {Status}")]
    private partial void LogMalformed(EndPoint remote, CoapDecodeStatus status);

    [LoggerMessage(2, LogLevel.Debug, "Duplicate message {MessageId} from {Remote}")]
    private partial void LogDuplicate(EndPoint remote, ushort messageId);

    [LoggerMessage(3, LogLevel.Debug, "Retransmitting message {MessageId} to {Remote} (attempt {Attempt})")]
    private partial void LogRetransmit(EndPoint remote, ushort messageId, int attempt);

    [LoggerMessage(4, LogLevel.Warning, "Receive failed")]
    private partial void LogReceiveFailed(Exception ex);

    [LoggerMessage(5, LogLevel.Warning, "Processing a datagram from {Remote} failed")]
    private partial void LogProcessingFailed(Exception ex, EndPoint remote);

    [LoggerMessage(6, LogLevel.Error, "Handler for /{Path} failed for {Remote}")]
    private partial void LogHandlerFailed(Exception ex, EndPoint remote, string path);

    [LoggerMessage(7, LogLevel.Information, "Separate response to {Remote} was not delivered: {Error}")]
    private partial void LogSeparateResponseFailed(EndPoint remote, CoapError error);

    [LoggerMessage(8, LogLevel.Debug, "Send to {Remote} failed")]
    private partial void LogSendFailed(Exception ex, EndPoint remote);

    [LoggerMessage(9, LogLevel.Information, "{Remote} sent more than {PerPeer} exchanges within EXCHANGE_LIFETIME: duplicate detection forgets "
        + "that peer's oldest ones, so a late retransmission of one of them is processed again ({Unreported} more bound hits since the last report)")]
    private partial void LogPeerBoundHit(EndPoint remote, int perPeer, long unreported);

    [LoggerMessage(10, LogLevel.Warning, "Duplicate detection holds {Total} exchanges (Coap:Endpoint:MaxDeduplicationEntries): to admit one from "
        + "{Remote}, it forgot the least recently active peers ({Unreported} more bound hits since the last report)")]
    private partial void LogGlobalBoundHit(EndPoint remote, int total, long unreported);

    [LoggerMessage(11, LogLevel.Information, "{Remote} used every message ID within EXCHANGE_LIFETIME (more than about 250 messages a second): "
        + "a non-confirmable response to it was dropped ({Unreported} more message ID reports since the last one)")]
    private partial void LogMessageIdsExhausted(EndPoint remote, long unreported);

    [LoggerMessage(12, LogLevel.Warning, "Message IDs are tracked for {Total} peers (Coap:Endpoint:MaxMessageIdPeers): to add {Remote}, the least "
        + "recently active one was forgotten ({Unreported} more message ID reports since the last one)")]
    private partial void LogMessageIdBoundHit(EndPoint remote, int total, long unreported);

    [LoggerMessage(13, LogLevel.Warning, "Refused a request from {Remote}: {InProgress} requests are in progress (bound {Bound}, {Key}); "
        + "{Unreported} more refusals since the last report")]
    internal partial void LogRequestsInProgressBoundHit(EndPoint remote, int inProgress, string bound, string key, long unreported);
}
