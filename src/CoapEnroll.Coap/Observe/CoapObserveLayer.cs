using System.Net;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Coap;

/// <summary>
/// The server side of RFC 7641: a pipeline layer that keeps the lists of observers and sends
/// notifications. A GET or FETCH with Observe 0 on an observable resource registers the client
/// endpoint and token (§4.1), Observe 1 deregisters (§3.6); on a state change the resource's handler
/// runs again on each registration's request and its response goes out as a notification (§4.2).
/// </summary>
/// <remarks>
/// Notifications do not pass the layers outside this one (they answer no incoming request), so a
/// layer that must shape every response, such as block-wise slicing (RFC 7959 §2.6), sets
/// <see cref="ShapeNotification"/>.
/// </remarks>
internal sealed partial class CoapObserveLayer : ICoapRequestHandler
{
    private readonly ICoapRequestHandler _inner;
    private readonly CoapServerOptions _options;
    private readonly Func<IReadOnlyList<string>, CoapResource?> _findResource;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _origin;
    private readonly Lock _lock = new();
    private readonly Dictionary<ObserveKey, ObserveRegistration> _registrations = [];
    private readonly Dictionary<CoapResource, HashSet<ObserveRegistration>> _byResource = [];
    private readonly HashSet<CoapEndpoint> _subscribedEndpoints = [];
    private readonly Dictionary<EndPoint, int> _perPeer = [];
    private readonly Dictionary<object, int> _perAddress = [];
    private readonly ReportThrottle _boundReports = new(TimeSpan.FromSeconds(10));
    // Under _lock, unlike a ConcurrentDictionary a Dictionary can give its memory back after a peak of observers.
    private readonly Dictionary<NotificationMessageKey, (ObserveRegistration Registration, long SentAt)> _sentNotifications = [];
    private readonly CancellationTokenSource _stopping = new();
    private long _changes;

    public CoapObserveLayer(
        ICoapRequestHandler inner,
        CoapServerOptions options,
        Func<IReadOnlyList<string>, CoapResource?> findResource,
        TimeProvider? timeProvider = null,
        ILogger<CoapObserveLayer>? logger = null)
    {
        _inner = inner;
        _options = options;
        _findResource = findResource;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _origin = _time.GetTimestamp() - (long)(Random.Shared.NextDouble() * 256 * _time.TimestampFrequency);
    }

    /// <summary>
    /// Shapes each notification before it is sent, given the registration's request context and the
    /// complete response with its Observe option. The block-wise layer sets this to cut a notification
    /// to its first block with Block2 (RFC 7959 §2.6); the client then fetches the rest without Observe.
    /// Null (the default) sends notifications as they are. Type, message ID and token are set afterwards.
    /// </summary>
    internal Func<CoapRequestContext, CoapMessage, CoapMessage>? ShapeNotification { get; set; }

    /// <summary>Registrations on every resource.</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _registrations.Count;
            }
        }
    }

    /// <summary>The smallest table capacity a removal trims (<see cref="SparseTables.DefaultMinimumCapacity"/>, lower in tests).</summary>
    internal int TrimMinimumCapacity { get; set; } = SparseTables.DefaultMinimumCapacity;

    /// <summary>The capacities of the registration, per-peer and sent-notification tables (for tests: they shrink after a peak).</summary>
    internal (int Registrations, int Peers, int Addresses, int Notifications) TableCapacities
    {
        get
        {
            lock (_lock)
            {
                return (_registrations.EnsureCapacity(0), _perPeer.EnsureCapacity(0), _perAddress.EnsureCapacity(0), _sentNotifications.EnsureCapacity(0));
            }
        }
    }

    /// <summary>Message IDs of sent NON notifications currently mapped back to their observer.</summary>
    internal int RememberedNotificationCount
    {
        get
        {
            lock (_lock)
            {
                return _sentNotifications.Count;
            }
        }
    }

    public async ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.Observe is not uint observe || (request.Code != CoapCode.Get && request.Code != CoapCode.Fetch))
        {
            return WithoutObserve(await _inner.HandleAsync(context, cancellationToken));
        }

        var key = new ObserveKey(context.Endpoint, PeerTokenKey.Create(context.RemoteEndPoint, request.Token.Span));
        if (observe != 0 || request.Block2 is { Number: > 0 })
        {
            // §4.1: Observe 1 removes any matching entry and the GET is processed as usual; other values
            // are not defined, and a later block of a representation is fetched without observing
            // (RFC 7959 §2.6). In each case the response carries no Observe option.
            if (observe == 1)
            {
                Deregister(key);
            }

            return WithoutObserve(await _inner.HandleAsync(context, cancellationToken));
        }

        long changesBefore = Interlocked.Read(ref _changes);
        var response = await _inner.HandleAsync(context, cancellationToken);
        var resource = context.Resource ?? _findResource(request.UriPathSegments);

        // §4.1/§4.2: only a 2.xx response to an observable resource establishes an observation; any
        // other answer to a (re-)registration carries no Observe, so an existing entry ends with it.
        if (!response.Code.IsSuccess || resource is not { IsObservable: true })
        {
            Deregister(key);
            return WithoutObserve(response);
        }

        ObserveRegistration? registration = null;
        ObserveBound bound;
        object sourceAddress = BlockSource.Of(context.RemoteEndPoint).Address;
        lock (_lock)
        {
            _registrations.TryGetValue(key, out var existing);
            _byResource.TryGetValue(resource, out var observers);
            int others = (observers?.Count ?? 0) - (existing is not null && existing.Resource == resource ? 1 : 0);
            bound = others >= _options.MaxObserversPerResource ? ObserveBound.Resource
                : existing is null ? CheckBoundsLocked(key.Client.Peer, sourceAddress) // (a renewal replaces, it adds nothing)
                : ObserveBound.None;
            if (bound != ObserveBound.None)
            {
                // §4.1: a server unwilling to add an entry processes the request as a plain GET.
                if (existing is not null)
                {
                    RemoveLocked(existing);
                }
            }
            else
            {
                // §4.1: an entry with the same endpoint and token is replaced, not added; its sequence
                // carries over so the numbers keep increasing for this client and token (§4.4).
                long now = _time.GetTimestamp();
                var sequence = existing?.Sequence ?? new ObserveSequence(ClockValue(now));
                registration = new ObserveRegistration(key, resource, context.WithRequest(request), sequence, now, response.ContentFormat,
                    contentFormatKnown: response.Code != CoapCode.Valid) { SourceAddress = existing?.SourceAddress ?? sourceAddress };
                if (existing is not null)
                {
                    RemoveLocked(existing);
                }

                // (Removing the old entry may have dropped the resource's set.)
                _registrations[key] = registration;
                Tally(registration, +1);
                if (!_byResource.TryGetValue(resource, out observers))
                {
                    _byResource[resource] = observers = [];
                }

                observers.Add(registration);
                SubscribeLocked(context.Endpoint);
            }
        }

        if (registration is null)
        {
            ReportBound(bound, context.RemoteEndPoint, resource.Pattern);
            return WithoutObserve(response);
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            // Checked here: the path is a new string, built for nothing when the level is off.
            LogRegistered(context.RemoteEndPoint, request.UriPath);
        }

        var initial = response.SetUInt(CoapOptionNumber.Observe, registration.Sequence.Next(ClockValue(_time.GetTimestamp())));

        // A change notified while the handler ran may not be in this response: send the newest state (§4.5).
        if (Interlocked.Read(ref _changes) != changesBefore)
        {
            Trigger(registration);
        }

        return initial;
    }

    /// <summary>The bound one more registration of <paramref name="peer"/> would exceed, or <see cref="ObserveBound.None"/>.</summary>
    private ObserveBound CheckBoundsLocked(EndPoint peer, object sourceAddress)
    {
        if (_perPeer.GetValueOrDefault(peer) >= _options.MaxObserversPerPeer)
        {
            return ObserveBound.Peer;
        }

        if (_perAddress.GetValueOrDefault(sourceAddress) >= _options.MaxObserversPerAddress)
        {
            return ObserveBound.Address;
        }

        return _registrations.Count >= _options.MaxObservers ? ObserveBound.Global : ObserveBound.None;
    }

    /// <summary>Adds (+1) or removes (-1) a registration from the per-peer and per-address counts; under the lock.</summary>
    private void Tally(ObserveRegistration registration, int delta)
    {
        Adjust(_perPeer, registration.Key.Client.Peer, delta);
        Adjust(_perAddress, registration.SourceAddress, delta);
        CoapMetrics.ObserveRegistrations.Add(delta);

        static void Adjust<TKey>(Dictionary<TKey, int> counts, TKey key, int delta)
            where TKey : notnull
        {
            int count = counts.GetValueOrDefault(key) + delta;
            if (count <= 0)
            {
                counts.Remove(key);
            }
            else
            {
                counts[key] = count;
            }
        }
    }

    /// <summary>Counts a registration refused at a bound and logs it at most every 10 s, with those held back meanwhile.</summary>
    private void ReportBound(ObserveBound bound, EndPoint remote, string pattern)
    {
        (string tag, string setting, int max) = bound switch
        {
            ObserveBound.Peer => ("peer", nameof(CoapServerOptions.MaxObserversPerPeer), _options.MaxObserversPerPeer),
            ObserveBound.Address => ("address", nameof(CoapServerOptions.MaxObserversPerAddress), _options.MaxObserversPerAddress),
            ObserveBound.Resource => ("resource", nameof(CoapServerOptions.MaxObserversPerResource), _options.MaxObserversPerResource),
            _ => ("global", nameof(CoapServerOptions.MaxObservers), _options.MaxObservers),
        };
        CoapMetrics.ObserveBoundHit.Add(1, new KeyValuePair<string, object?>("bound", tag));
        if (_boundReports.TryReport(_time.GetTimestamp(), _time, out long heldBack))
        {
            LogObserverLimit(remote, pattern, "Coap:" + setting, max, heldBack);
        }
    }

    // Not inline in HandleAsync: the lambda's closure would be allocated on every request that reaches it.
    private void SubscribeLocked(CoapEndpoint endpoint)
    {
        if (_subscribedEndpoints.Add(endpoint))
        {
            endpoint.ResetReceived += (remote, messageId) => OnResetReceived(endpoint, remote, messageId);
        }
    }

    /// <summary>Notifies every observer of <paramref name="resource"/>. Returns how many were notified.</summary>
    internal int Notify(CoapResource resource) => Notify(r => r.Resource == resource);

    /// <summary>Notifies the observers whose request targets <paramref name="path"/> ("/a/b" or "a/b").</summary>
    internal int Notify(string path)
    {
        string normalized = string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        return Notify(r => string.Equals(r.Request.UriPath, normalized, StringComparison.Ordinal));
    }

    /// <summary>Observers currently registered on <paramref name="resource"/>.</summary>
    internal int CountObservers(CoapResource resource)
    {
        lock (_lock)
        {
            return _byResource.TryGetValue(resource, out var observers) ? observers.Count : 0;
        }
    }

    /// <summary>Stops every observation (server shutdown); nothing more is sent.</summary>
    internal void Stop()
    {
        _stopping.Cancel();
        lock (_lock)
        {
            foreach (var registration in _registrations.Values.ToArray())
            {
                RemoveLocked(registration);
            }
        }
    }

    private int Notify(Func<ObserveRegistration, bool> selector)
    {
        Interlocked.Increment(ref _changes);
        ObserveRegistration[] selected;
        lock (_lock)
        {
            selected = [.. _registrations.Values.Where(selector)];
        }

        foreach (var registration in selected)
        {
            Trigger(registration);
        }

        return selected.Length;
    }

    private void Trigger(ObserveRegistration registration)
    {
        if (registration.Trigger())
        {
            _ = RunAsync(registration);
        }
    }

    /// <summary>
    /// The transmission loop of one observer, alive only while it has something to send: at most one
    /// notification in flight (§4.5.1), and after it the newest state if it changed meanwhile (§4.5.2).
    /// </summary>
    private async Task RunAsync(ObserveRegistration registration)
    {
        var cancellationToken = registration.Cancellation;
        try
        {
            // Leave the caller (NotifyObservers or the request handler) before running handlers.
            await Task.Yield();
            while (true)
            {
                await PaceAsync(registration, cancellationToken);
                if (!registration.TryTakePending())
                {
                    return;
                }

                await NotifyOnceAsync(registration, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            registration.StopRunning();
        }
        catch (Exception ex)
        {
            LogNotificationFailed(ex, registration.RemoteEndPoint, registration.Request.UriPath);
            registration.StopRunning();
            Remove(registration);
        }
    }

    /// <summary>§4.5.1: no more than one non-confirmable notification per interval to one observer.</summary>
    private async Task PaceAsync(ObserveRegistration registration, CancellationToken cancellationToken)
    {
        long last = registration.LastNonConfirmableAt;
        var spacing = _options.Observe.MinNonConfirmableInterval;
        if (last == 0 || spacing <= TimeSpan.Zero)
        {
            return;
        }

        var remaining = spacing - _time.GetElapsedTime(last);
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, _time, cancellationToken);
        }
    }

    private async Task NotifyOnceAsync(ObserveRegistration registration, CancellationToken cancellationToken)
    {
        // §4.2: a notification is the response a GET with the registration's request would get now.
        var context = registration.Context.WithRequest(registration.Request);
        CoapMessage response;
        try
        {
            response = await _inner.HandleAsync(context, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            LogHandlerFailed(ex, registration.RemoteEndPoint, registration.Request.UriPath);
            response = new CoapMessage { Code = CoapCode.InternalServerError };
        }

        if (registration.IsRemoved)
        {
            return;
        }

        long now = _time.GetTimestamp();

        // §4.2: a 2.xx notification has the Content-Format of the initial response. A server that can no longer
        // send that format SHOULD send 4.06 and MUST remove the observer. (2.03 Valid carries no representation.)
        if (response.Code.IsSuccess && response.Code != CoapCode.Valid && !registration.AcceptsContentFormat(response.ContentFormat))
        {
            response = new CoapMessage { Code = CoapCode.NotAcceptable };
        }

        bool success = response.Code.IsSuccess;
        CoapMessage notification;
        var sendToken = cancellationToken;
        if (success)
        {
            // §4.4: each notification carries the next value of the observation's sequence.
            notification = response.SetUInt(CoapOptionNumber.Observe, registration.Sequence.Next(ClockValue(now)));
        }
        else
        {
            // §3.2/§4.2: a non-2.xx notification has no Observe option and ends the observation. It is
            // sent confirmable, being the last word, and outlives the registration it ends.
            Remove(registration);
            notification = WithoutObserve(response);
            sendToken = _stopping.Token;
        }

        notification = ShapeNotification?.Invoke(context, notification) ?? notification;
        if (success && notification.Code.IsSuccess && notification.Observe is null)
        {
            notification = notification.SetUInt(CoapOptionNumber.Observe, registration.Sequence.Current);
        }

        // §4.5: mostly NON, but CON at least once per ConfirmableInterval so that an observer that went
        // away is eventually detected.
        bool confirmable = !success || registration.Resource.HasConfirmableNotifications
            || _time.GetElapsedTime(registration.LastConfirmedAt, now) >= _options.Observe.ConfirmableInterval;
        var endpoint = registration.Endpoint;
        var remote = registration.RemoteEndPoint;
        var message = notification with
        {
            Type = confirmable ? CoapMessageType.Confirmable : CoapMessageType.NonConfirmable,
            MessageId = await endpoint.AllocateMessageIdAsync(remote, sendToken),
            Token = registration.Request.Token,
        };

        if (!confirmable)
        {
            RememberNonConfirmable(registration, new NotificationMessageKey(endpoint, new PeerMessageKey(remote, message.MessageId)), now);
            registration.LastNonConfirmableAt = now;
            await endpoint.SendAsync(message, remote, sendToken);
            return;
        }

        try
        {
            await endpoint.SendConfirmableAsync(message, remote, sendToken);
            registration.LastConfirmedAt = _time.GetTimestamp();
        }
        catch (CoapProtocolException ex) when (ex.Error is CoapError.Reset or CoapError.Timeout)
        {
            // §4.5: a rejected confirmable notification, or one whose last retransmission timed out,
            // means the client is no longer interested.
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                LogObserverGone(remote, registration.Request.UriPath, ex.Error);
            }

            Remove(registration);
        }
    }

    /// <summary>
    /// §4.5 implementation note: a Reset to a NON notification can only be matched by remembering its
    /// message ID. Each observer keeps its last few, each for NON_LIFETIME at most.
    /// </summary>
    private void RememberNonConfirmable(ObserveRegistration registration, NotificationMessageKey key, long now)
    {
        lock (_lock)
        {
            // Removal marks the registration and forgets its message IDs under this lock: a removed one remembers nothing more.
            if (registration.IsRemoved)
            {
                return;
            }

            _sentNotifications[key] = (registration, now);
            if (registration.RememberMessageId(key) is { } evicted && _sentNotifications.TryGetValue(evicted, out var old) && old.Registration == registration)
            {
                _sentNotifications.Remove(evicted);
            }
        }
    }

    /// <summary>§3.6/§4.5: a Reset in reply to a notification removes the observer.</summary>
    private void OnResetReceived(CoapEndpoint endpoint, EndPoint remote, ushort messageId)
    {
        var key = new NotificationMessageKey(endpoint, new PeerMessageKey(remote, messageId));
        (ObserveRegistration Registration, long SentAt) sent;
        lock (_lock)
        {
            if (!_sentNotifications.Remove(key, out sent))
            {
                return;
            }
        }

        // A message ID is only meaningful while the peer may still answer it; after that it may be reused.
        if (_time.GetElapsedTime(sent.SentAt) > endpoint.Options.NonLifetime)
        {
            return;
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            LogObserverGone(remote, sent.Registration.Request.UriPath, CoapError.Reset);
        }

        Remove(sent.Registration);
    }

    private void Deregister(ObserveKey key)
    {
        lock (_lock)
        {
            if (_registrations.TryGetValue(key, out var existing))
            {
                RemoveLocked(existing);
            }
        }
    }

    private void Remove(ObserveRegistration registration)
    {
        lock (_lock)
        {
            RemoveLocked(registration);
        }
    }

    private void RemoveLocked(ObserveRegistration registration)
    {
        if (_registrations.TryGetValue(registration.Key, out var current) && current == registration)
        {
            _registrations.Remove(registration.Key);
            Tally(registration, -1);
        }

        if (_byResource.TryGetValue(registration.Resource, out var observers) && observers.Remove(registration))
        {
            if (observers.Count == 0)
            {
                _byResource.Remove(registration.Resource);
            }
            else
            {
                SparseTables.TrimIfSparse(observers, TrimMinimumCapacity);
            }
        }

        // After a peak of observers the tables keep their size; a trim only when a quarter full, so removals rarely pay for it.
        SparseTables.TrimIfSparse(_registrations, TrimMinimumCapacity);
        SparseTables.TrimIfSparse(_perPeer, TrimMinimumCapacity);
        SparseTables.TrimIfSparse(_perAddress, TrimMinimumCapacity);

        foreach (var key in registration.MarkRemoved() ?? [])
        {
            if (_sentNotifications.TryGetValue(key, out var sent) && sent.Registration == registration)
            {
                _sentNotifications.Remove(key);
            }
        }

        SparseTables.TrimIfSparse(_sentNotifications, TrimMinimumCapacity);
    }

    private uint ClockValue(long timestamp) => ObserveSequence.ClockValue(_time.GetElapsedTime(_origin, timestamp));

    /// <summary>§4.1/§4.2: only a notification carries Observe; a handler's own option is not passed on.</summary>
    private static CoapMessage WithoutObserve(CoapMessage response)
        => response.Options.Contains(CoapOptionNumber.Observe) ? response.WithoutOption(CoapOptionNumber.Observe) : response;

    [LoggerMessage(1, LogLevel.Debug, "{Remote} observes /{Path}")]
    private partial void LogRegistered(EndPoint remote, string path);

    [LoggerMessage(2, LogLevel.Warning,
        "Observe: {Setting} ({Max}) reached; {Remote} is served {Pattern} without observing ({HeldBack} more since the last report)")]
    private partial void LogObserverLimit(EndPoint remote, string pattern, string setting, int max, long heldBack);

    [LoggerMessage(3, LogLevel.Debug, "Observer {Remote} of /{Path} removed: {Reason}")]
    private partial void LogObserverGone(EndPoint remote, string path, CoapError reason);

    [LoggerMessage(4, LogLevel.Error, "Handler for /{Path} failed while notifying {Remote}")]
    private partial void LogHandlerFailed(Exception ex, EndPoint remote, string path);

    [LoggerMessage(5, LogLevel.Information, "Notification to {Remote} for /{Path} failed; the observer is removed")]
    private partial void LogNotificationFailed(Exception ex, EndPoint remote, string path);
}
