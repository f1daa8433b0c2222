using System.Globalization;
using System.Text;
using CoapEnroll.Coap;

namespace CoapEnroll.Hosting;

/// <summary>
/// The observable resources of the ETSI/F-Interop CoAP plugtest (TD_COAP_OBS_*), mapped by <c>serve</c> only with
/// <c>Coap:PlugtestResources=true</c> because anyone may change or delete <c>/obs</c>. Each changes every
/// <c>Coap:PlugtestObserveIntervalSeconds</c> and carries a Max-Age that covers the time to its next notification.
/// <list type="bullet">
/// <item><c>/obs</c>: GET returns the change count and time (text/plain); observable with confirmable notifications. PUT sets
/// the representation (body and Content-Format, 2.04, or 2.01 after DELETE) until the second change after it, when the clock
/// resumes; observers registered for another Content-Format then get 4.06 and are removed (RFC 7641 §4.2). DELETE removes
/// it (2.02; observers get 4.04 and are removed) until the next PUT.</item>
/// <item><c>/obs-non</c>: the same clock, observable with non-confirmable notifications.</item>
/// <item><c>/obs-large</c>: a changing representation of <see cref="LargeSize"/> bytes, observable; notifications go out as
/// their first block (RFC 7959 §2.6).</item>
/// </list>
/// With the plugtest resources, this <c>/obs</c> replaces the read-only clock of <see cref="DiagnosticResources"/>.
/// </summary>
public sealed class PlugtestObserveResources : IDisposable
{
    /// <summary>The size of the <c>/obs-large</c> representation.</summary>
    public const int LargeSize = 2048;

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private CoapResource? _obs;
    private CoapResource? _obsNon;
    private CoapResource? _obsLarge;
    private uint _obsMaxAge;
    private uint _obsNonMaxAge;
    private ITimer? _timer;
    private long _changes;
    private ObsState _state = ObsState.Clock;
    private DiagnosticResources.StoredBody? _stored;
    private long _storedAt;

    /// <param name="interval">How often the resources change.</param>
    /// <param name="timeProvider">The clock (the system's by default).</param>
    public PlugtestObserveResources(TimeSpan interval, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _interval = interval;
        _time = timeProvider ?? TimeProvider.System;
    }

    private enum ObsState
    {
        Clock,
        Stored,
        Deleted,
    }

    public void Map(CoapServer server)
    {
        ArgumentNullException.ThrowIfNull(server);

        // The next notification is due one interval later (non-confirmable ones no sooner than the server's pacing allows,
        // RFC 7641 §4.5.1); the extra second covers its transit and the timer's jitter, so that a client counting Max-Age
        // (§3.3.1) does not take a notification that is merely late for a lost observation.
        _obsMaxAge = MaxAgeFor(_interval);
        var nonInterval = server.Options.Observe.MinNonConfirmableInterval > _interval ? server.Options.Observe.MinNonConfirmableInterval : _interval;
        _obsNonMaxAge = MaxAgeFor(nonInterval);

        _obs = server.MapGet("/obs", (context, _) => ValueTask.FromResult(GetObs(context.Request)))
            .WithTitle("Plugtest: observable, changes periodically, confirmable notifications; PUT and DELETE change it")
            .WithContentFormat(CoapContentFormat.TextPlain)
            .Observable(confirmableNotifications: true);
        server.MapPut("/obs", (context, _) => ValueTask.FromResult(PutObs(context.Request)));
        server.MapDelete("/obs", (_, _) => ValueTask.FromResult(DeleteObs()));

        _obsNon = server.MapGet("/obs-non", (context, _) => ValueTask.FromResult(Clock(context.Request, "obs-non", _obsNonMaxAge)))
            .WithTitle("Plugtest: observable, changes periodically, non-confirmable notifications")
            .WithContentFormat(CoapContentFormat.TextPlain)
            .Observable();

        _obsLarge = server.MapGet("/obs-large", (context, _) => ValueTask.FromResult(GetLarge(context.Request)))
            .WithTitle("Plugtest: observable, changes periodically, larger than one block")
            .WithContentFormat(CoapContentFormat.TextPlain)
            .WithMaximumSize(LargeSize)
            .Observable();

        _timer = _time.CreateTimer(_ => Change(), null, _interval, _interval);
    }

    /// <summary>Stops the changes; call before the server is disposed.</summary>
    public void Dispose()
    {
        _timer?.Dispose();
        _timer = null;
    }

    private static uint MaxAgeFor(TimeSpan period) => (uint)Math.Ceiling(period.TotalSeconds) + 1;

    private void Change()
    {
        bool obsChanged;
        lock (_lock)
        {
            _changes++;

            // A PUT representation stays for at least one whole interval, so that its notification cannot be overtaken by the clock.
            if (_state == ObsState.Stored && _changes >= _storedAt + 2)
            {
                _state = ObsState.Clock;
                _stored = null;
                obsChanged = true;
            }
            else
            {
                obsChanged = _state == ObsState.Clock;
            }
        }

        if (obsChanged)
        {
            _obs?.NotifyObservers();
        }

        _obsNon?.NotifyObservers();
        _obsLarge?.NotifyObservers();
    }

    private CoapMessage GetObs(CoapMessage request)
    {
        ObsState state;
        DiagnosticResources.StoredBody? stored;
        lock (_lock)
        {
            state = _state;
            stored = _stored;
        }

        switch (state)
        {
            case ObsState.Deleted:
                return new CoapMessage { Code = CoapCode.NotFound };
            case ObsState.Stored:
                if (request.Accept is { } accept && accept != stored!.ContentFormat)
                {
                    return new CoapMessage { Code = CoapCode.NotAcceptable };
                }

                var response = new CoapMessage { Code = CoapCode.Content, Payload = stored!.Payload }.SetUInt(CoapOptionNumber.MaxAge, _obsMaxAge);
                return stored.ContentFormat is { } ct ? response.WithContentFormat(ct) : response;
            default:
                return Clock(request, "obs", _obsMaxAge);
        }
    }

    private CoapMessage PutObs(CoapMessage request)
    {
        bool created;
        lock (_lock)
        {
            created = _state == ObsState.Deleted;
            if (CoapPreconditions.Evaluate(request, resourceExists: !created) is { } failed)
            {
                return failed;
            }

            _state = ObsState.Stored;
            _stored = new DiagnosticResources.StoredBody(request.Payload.ToArray(), request.ContentFormat);
            _storedAt = _changes;
        }

        _obs?.NotifyObservers();
        return new CoapMessage { Code = created ? CoapCode.Created : CoapCode.Changed };
    }

    private CoapMessage DeleteObs()
    {
        lock (_lock)
        {
            _state = ObsState.Deleted;
            _stored = null;
        }

        // RFC 7641 §3.2: the observers learn of the deletion with a 4.04 notification, which ends their observation.
        _obs?.NotifyObservers();
        return new CoapMessage { Code = CoapCode.Deleted };
    }

    private CoapMessage Clock(CoapMessage request, string name, uint maxAge)
    {
        if (request.Accept is { } accept && accept != CoapContentFormat.TextPlain)
        {
            return new CoapMessage { Code = CoapCode.NotAcceptable };
        }

        return new CoapMessage { Code = CoapCode.Content }
            .WithContentFormat(CoapContentFormat.TextPlain)
            .SetUInt(CoapOptionNumber.MaxAge, maxAge)
            .WithPayload(ClockLine(name));
    }

    private CoapMessage GetLarge(CoapMessage request)
    {
        var response = Clock(request, "obs-large", _obsNonMaxAge);
        if (!response.Code.IsSuccess)
        {
            return response;
        }

        // The same line over and over, each numbered, so that every block of one representation differs from the same block of the next.
        string line = response.PayloadText;
        var text = new StringBuilder(LargeSize + line.Length + 8);
        for (int i = 0; text.Length < LargeSize; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{i:D3} {line}\n");
        }

        return response.WithPayload(Encoding.ASCII.GetBytes(text.ToString(0, LargeSize)));
    }

    private string ClockLine(string name)
    {
        long changes;
        lock (_lock)
        {
            changes = _changes;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{name} change {changes} at {_time.GetUtcNow():yyyy-MM-dd'T'HH:mm:ss'Z'}");
    }
}
