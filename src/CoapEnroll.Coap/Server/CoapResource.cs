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

    internal CoapResource(string pattern)
    {
        _segments = pattern.Split('/', StringSplitOptions.RemoveEmptyEntries);
        Pattern = "/" + string.Join('/', _segments);
        IsLiteral = !_segments.Any(s => s.StartsWith('{'));
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
    public CoapResource Observable()
    {
        IsObservable = true;
        return this;
    }

    public CoapResource Hidden()
    {
        IsDiscoverable = false;
        return this;
    }

    internal void SetHandler(CoapCode method, CoapRequestDelegate handler)
    {
        if (!method.IsRequest)
        {
            throw new ArgumentException($"{method} is not a request method.", nameof(method));
        }

        _handlers[method.Value] = handler;
    }

    internal bool TryGetHandler(CoapCode method, out CoapRequestDelegate handler) => _handlers.TryGetValue(method.Value, out handler!);

    internal bool TryMatch(IReadOnlyList<string> path, IDictionary<string, string>? values)
    {
        if (path.Count != _segments.Length)
        {
            return false;
        }

        for (int i = 0; i < _segments.Length; i++)
        {
            string segment = _segments[i];
            if (segment.Length > 2 && segment[0] == '{' && segment[^1] == '}')
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
}
