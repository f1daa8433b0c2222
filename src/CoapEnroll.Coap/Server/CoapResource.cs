using System.Text;

namespace CoapEnroll.Coap;

/// <summary>
/// A path on the server with its handlers per method and the attributes it advertises in
/// <c>/.well-known/core</c> (RFC 6690 §3, RFC 7252 §7.2). Built through <see cref="CoapServer"/>'s
/// <c>Map…</c> methods; the fluent setters return the resource for chaining.
/// </summary>
public sealed class CoapResource
{
    private readonly Dictionary<byte, CoapRequestDelegate> _handlers = [];
    private readonly string[] _segments;

    // Per segment: the UTF-8 bytes a Uri-Path option must equal, or null for a route value or for a literal that
    // only a string comparison can judge (see SegmentMatches).
    private readonly byte[]?[] _utf8Segments;

    internal CoapResource(string pattern)
    {
        _segments = pattern.Split('/', StringSplitOptions.RemoveEmptyEntries);
        Pattern = "/" + string.Join('/', _segments);
        IsLiteral = !_segments.Any(s => s.StartsWith('{'));
        _utf8Segments = new byte[]?[_segments.Length];
        for (int i = 0; i < _segments.Length; i++)
        {
            string segment = _segments[i];

            // Requests are matched on their decoded segments. Comparing the bytes instead is the same test unless the
            // segment has U+FFFD (which invalid UTF-8 decodes to) or a lone surrogate (which encodes to U+FFFD's
            // bytes); such segments keep the string comparison.
            if (!IsRouteValue(segment) && !segment.Contains('\uFFFD', StringComparison.Ordinal) && !HasLoneSurrogate(segment))
            {
                _utf8Segments[i] = Encoding.UTF8.GetBytes(segment);
            }
        }
    }

    /// <summary>The path pattern, with <c>{name}</c> segments for route values.</summary>
    public string Pattern { get; }

    /// <summary>True when the pattern has no <c>{…}</c> segments, so it can be listed in discovery.</summary>
    public bool IsLiteral { get; }

    public IList<string> ResourceTypes { get; } = new List<string>();

    public IList<string> InterfaceDescriptions { get; } = new List<string>();

    public IList<int> ContentFormats { get; } = new List<int>();

    public string? Title { get; private set; }

    public int? MaximumSize { get; private set; }

    public bool IsObservable { get; private set; }

    /// <summary>
    /// True when every 2.xx notification of this resource is sent confirmable; false (the default) sends them
    /// non-confirmable with a confirmable one at least every <see cref="CoapObserveOptions.ConfirmableInterval"/>.
    /// </summary>
    public bool HasConfirmableNotifications { get; private set; }

    /// <summary>False keeps the resource out of <c>/.well-known/core</c>.</summary>
    public bool IsDiscoverable { get; private set; } = true;

    /// <summary>The methods this resource answers.</summary>
    public IEnumerable<CoapCode> Methods => _handlers.Keys.Select(k => new CoapCode(k));

    public CoapResource WithResourceType(params string[] resourceTypes)
    {
        foreach (var rt in resourceTypes)
        {
            ResourceTypes.Add(rt);
        }

        return this;
    }

    public CoapResource WithInterface(string interfaceDescription)
    {
        InterfaceDescriptions.Add(interfaceDescription);
        return this;
    }

    public CoapResource WithContentFormat(params int[] contentFormats)
    {
        foreach (var ct in contentFormats)
        {
            ContentFormats.Add(ct);
        }

        return this;
    }

    public CoapResource WithTitle(string title)
    {
        Title = title;
        return this;
    }

    public CoapResource WithMaximumSize(int size)
    {
        MaximumSize = size;
        return this;
    }

    /// <summary>Clients currently observing the resource (RFC 7641 §4.1).</summary>
    public int ObserverCount => ObserveLayer?.CountObservers(this) ?? 0;

    internal CoapObserveLayer? ObserveLayer { get; set; }

    /// <summary>
    /// Tells every observer of the resource that its state changed: each gets a notification with the
    /// current representation, produced by running the GET (or FETCH) handler again on its
    /// registration request (RFC 7641 §4.2). Returns how many observers were notified; sending is
    /// asynchronous, and an observer that is still busy gets only the newest state (§4.5.2).
    /// </summary>
    public int NotifyObservers() => ObserveLayer?.Notify(this) ?? 0;

    /// <summary>Marks the resource observable (RFC 7641 §6: the <c>obs</c> attribute).</summary>
    public CoapResource Observable() => Observable(confirmableNotifications: false);

    /// <summary>
    /// Marks the resource observable; with <paramref name="confirmableNotifications"/> every 2.xx notification is
    /// confirmable (RFC 7641 §4.5 leaves the choice to the server), so an observer that went away is noticed at
    /// the next change rather than at the next periodic confirmable one.
    /// </summary>
    public CoapResource Observable(bool confirmableNotifications)
    {
        IsObservable = true;
        HasConfirmableNotifications = confirmableNotifications;
        return this;
    }

    public CoapResource Hidden()
    {
        IsDiscoverable = false;
        return this;
    }

    /// <summary>
    /// Makes every request to this resource pass <paramref name="authorize"/> before the body is received and the handler
    /// runs (the same delegate for each method; it reads <c>context.Request.Code</c> where they differ). A refusal is
    /// answered at the first block of a Block1 transfer, with nothing of the body held.
    /// </summary>
    public CoapResource RequireAuthorization(CoapAuthorizationDelegate authorize)
    {
        ArgumentNullException.ThrowIfNull(authorize);
        Authorization = authorize;
        return this;
    }

    /// <summary>The check set by <see cref="RequireAuthorization"/>, if any.</summary>
    internal CoapAuthorizationDelegate? Authorization { get; private set; }

    /// <summary>
    /// Starts this resource's authorization check and handlers on the thread pool, never on the thread that received the request
    /// (<see cref="CoapRequestContext.ContinueOnThreadPoolAsync"/>). For resources whose work is slow before its first real wait
    /// (store I/O that is synchronous under an async API, signing, certificate path building): a server channel that reads its
    /// socket on a thread of its own (DedicatedUdpDatagramChannel, and DTLS above it) runs the rest of the request there, and
    /// would serve no other peer meanwhile. Costs one hop to the pool per request, so cheap resources go without it.
    /// </summary>
    public CoapResource RunOnThreadPool()
    {
        RunsOnThreadPool = true;
        return this;
    }

    /// <summary>True when <see cref="RunOnThreadPool"/> was called.</summary>
    public bool RunsOnThreadPool { get; private set; }

    internal void SetHandler(CoapCode method, CoapRequestDelegate handler)
    {
        if (!method.IsRequest)
        {
            throw new ArgumentException($"{method} is not a request method.", nameof(method));
        }

        _handlers[method.Value] = handler;
    }

    internal bool TryGetHandler(CoapCode method, out CoapRequestDelegate handler) => _handlers.TryGetValue(method.Value, out handler!);

    /// <summary>
    /// Matches the Uri-Path options of a request without decoding them (literal segments compare as UTF-8 bytes);
    /// only route values become strings, when <paramref name="values"/> is given.
    /// </summary>
    internal bool TryMatch(ReadOnlySpan<CoapOption> path, IDictionary<string, string>? values)
    {
        if (path.Length != _segments.Length)
        {
            return false;
        }

        for (int i = 0; i < _segments.Length; i++)
        {
            ReadOnlySpan<byte> value = path[i].Value.Span;
            string segment = _segments[i];
            if (IsRouteValue(segment))
            {
                // Empty bytes and only they decode to an empty string.
                if (value.IsEmpty)
                {
                    return false;
                }

                if (values is not null)
                {
                    values[segment[1..^1]] = Encoding.UTF8.GetString(value);
                }
            }
            else if (_utf8Segments[i] is { } utf8 ? !value.SequenceEqual(utf8) : !string.Equals(segment, Encoding.UTF8.GetString(value), StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    internal bool TryMatch(IReadOnlyList<string> path, IDictionary<string, string>? values)
    {
        if (path.Count != _segments.Length)
        {
            return false;
        }

        for (int i = 0; i < _segments.Length; i++)
        {
            string segment = _segments[i];
            if (IsRouteValue(segment))
            {
                if (path[i].Length == 0)
                {
                    return false;
                }

                if (values is not null)
                {
                    values[segment[1..^1]] = path[i];
                }
            }
            else if (!string.Equals(segment, path[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsRouteValue(string segment) => segment.Length > 2 && segment[0] == '{' && segment[^1] == '}';

    private static bool HasLoneSurrogate(string segment)
    {
        for (int i = 0; i < segment.Length; i++)
        {
            if (char.IsHighSurrogate(segment[i]) && i + 1 < segment.Length && char.IsLowSurrogate(segment[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(segment[i]))
            {
                return true;
            }
        }

        return false;
    }
}
