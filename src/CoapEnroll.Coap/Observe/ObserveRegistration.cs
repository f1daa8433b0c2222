using System.Net;

namespace CoapEnroll.Coap;

/// <summary>
/// One observer of one resource (RFC 7641 §4.1): the registration request, the sequence of its
/// notifications, and the state of its transmission. At most one notification is in flight per
/// registration; changes that arrive meanwhile are coalesced into one pending flag so that only the
/// newest state is sent next (§4.5, §4.5.2).
/// </summary>
internal sealed class ObserveRegistration
{
    /// <summary>NON message IDs remembered per observer, to map a Reset back to it (§4.5 implementation note).</summary>
    public const int RememberedMessageIds = 8;

    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _cancel = new();
    private readonly Queue<NotificationMessageKey> _sentMessageIds = new(RememberedMessageIds);
    private bool _pending;
    private bool _running;
    private int _removed;
    private long _lastConfirmedAt;
    private long _lastNonConfirmableAt;

    // contentFormat: that of the response that established the observation; unknown (contentFormatKnown false) when the response
    // was a 2.03 Valid, which carries no representation.
    public ObserveRegistration(ObserveKey key, CoapResource resource, CoapRequestContext context, ObserveSequence sequence, long now, int? contentFormat,
        bool contentFormatKnown = true)
    {
        Key = key;
        ContentFormat = contentFormat;
        IsContentFormatKnown = contentFormatKnown;
        Resource = resource;
        Context = context;
        Sequence = sequence;
        _lastConfirmedAt = now;
    }

    public ObserveKey Key { get; }

    /// <summary>The source address the registration is counted under (<see cref="BlockSource.Address"/>), fixed when it is made.</summary>
    public required object SourceAddress { get; init; }

    public CoapResource Resource { get; }

    /// <summary>A private copy of the registration's request context; each notification runs on a fresh copy of it.</summary>
    public CoapRequestContext Context { get; }

    public CoapMessage Request => Context.Request;

    public CoapEndpoint Endpoint => Context.Endpoint;

    public EndPoint RemoteEndPoint => Context.RemoteEndPoint;

    public ObserveSequence Sequence { get; }

    /// <summary>
    /// The Content-Format every 2.xx notification must have (RFC 7641 §4.2): the registration response's, or, when that was a 2.03
    /// Valid, the first representation's. Only the observer's transmission loop, one notification at a time, changes it.
    /// </summary>
    public int? ContentFormat { get; private set; }

    /// <summary>False until a representation has set <see cref="ContentFormat"/>.</summary>
    public bool IsContentFormatKnown { get; private set; }

    /// <summary>
    /// True when a 2.xx notification's <paramref name="contentFormat"/> is the observation's; the first representation after a
    /// 2.03 registration response sets it.
    /// </summary>
    public bool AcceptsContentFormat(int? contentFormat)
    {
        if (!IsContentFormatKnown)
        {
            ContentFormat = contentFormat;
            IsContentFormatKnown = true;
        }

        return ContentFormat == contentFormat;
    }

    /// <summary>Cancelled when the registration is removed: stops its pacing wait and any CON retransmission.</summary>
    public CancellationToken Cancellation => _cancel.Token;

    public bool IsRemoved => Volatile.Read(ref _removed) != 0;

    /// <summary>Timestamp of the registration or of the last acknowledged confirmable notification.</summary>
    public long LastConfirmedAt
    {
        get => Volatile.Read(ref _lastConfirmedAt);
        set => Volatile.Write(ref _lastConfirmedAt, value);
    }

    /// <summary>Timestamp of the last non-confirmable notification, 0 if none.</summary>
    public long LastNonConfirmableAt
    {
        get => Volatile.Read(ref _lastNonConfirmableAt);
        set => Volatile.Write(ref _lastNonConfirmableAt, value);
    }

    /// <summary>Marks the state changed. True when the caller has to start the transmission loop.</summary>
    public bool Trigger()
    {
        lock (_gate)
        {
            if (IsRemoved)
            {
                return false;
            }

            _pending = true;
            if (_running)
            {
                return false;
            }

            _running = true;
            return true;
        }
    }

    /// <summary>Takes the pending change, or ends the transmission loop when there is none.</summary>
    public bool TryTakePending()
    {
        lock (_gate)
        {
            if (!_pending || IsRemoved)
            {
                _running = false;
                return false;
            }

            _pending = false;
            return true;
        }
    }

    /// <summary>Ends the transmission loop after a failure.</summary>
    public void StopRunning()
    {
        lock (_gate)
        {
            _running = false;
        }
    }

    /// <summary>Remembers a NON's message ID; returns the one it pushes out of the bounded list, if any.</summary>
    public NotificationMessageKey? RememberMessageId(NotificationMessageKey key)
    {
        lock (_gate)
        {
            NotificationMessageKey? evicted = _sentMessageIds.Count >= RememberedMessageIds ? _sentMessageIds.Dequeue() : null;
            _sentMessageIds.Enqueue(key);
            return evicted;
        }
    }

    /// <summary>Marks the registration removed and cancels its transmission. Returns the remembered message IDs (once).</summary>
    public NotificationMessageKey[]? MarkRemoved()
    {
        if (Interlocked.Exchange(ref _removed, 1) != 0)
        {
            return null;
        }

        NotificationMessageKey[] sent;
        lock (_gate)
        {
            sent = [.. _sentMessageIds];
            _sentMessageIds.Clear();
        }

        // Callbacks run on the thread pool, never inline on the caller (often the receive loop).
        _ = _cancel.CancelAsync();
        return sent;
    }
}
