namespace CoapEnroll.Coap;

/// <summary>
/// The innermost handler: finds the resource for the Uri-Path and the handler for the method.
/// No resource gives 4.04 Not Found, a resource without that method 4.05 Method Not Allowed
/// (RFC 7252 §5.9.2.2, §5.9.2.5). Literal paths win over patterns with route values.
/// </summary>
internal sealed class CoapRouter : ICoapRequestHandler
{
    private readonly List<CoapResource> _resources = [];
    private readonly Lock _lock = new();
    private CoapResource[] _snapshot = [];

    public IReadOnlyList<CoapResource> Resources => _snapshot;

    public CoapResource GetOrAdd(string pattern)
    {
        string normalized = "/" + string.Join('/', pattern.Split('/', StringSplitOptions.RemoveEmptyEntries));
        lock (_lock)
        {
            var existing = _resources.Find(r => r.Pattern == normalized);
            if (existing is not null)
            {
                return existing;
            }

            var resource = new CoapResource(normalized);
            _resources.Add(resource);

            // Literal routes first so that /.well-known/est/crts is not taken by /.well-known/est/{label}.
            _snapshot = [.. _resources.OrderBy(r => r.IsLiteral ? 0 : 1)];
            return resource;
        }
    }

    public ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, CancellationToken cancellationToken)
    {
        // The options themselves, not UriPathSegments: literal segments are compared as bytes, so a request
        // that reaches a literal route decodes no string.
        ReadOnlySpan<CoapOption> path = context.Request.Options.GetRun(CoapOptionNumber.UriPath);
        foreach (var resource in _snapshot)
        {
            if (!resource.TryMatch(path, null))
            {
                continue;
            }

            if (!resource.TryGetHandler(context.Request.Code, out var handler))
            {
                return ValueTask.FromResult(new CoapMessage { Code = CoapCode.MethodNotAllowed });
            }

            if (!resource.IsLiteral)
            {
                resource.TryMatch(path, context.RouteValues);
            }

            context.Resource = resource;
            return handler(context, cancellationToken);
        }

        return ValueTask.FromResult(new CoapMessage { Code = CoapCode.NotFound });
    }

    /// <summary>The resource a request path would reach, if any.</summary>
    public CoapResource? Find(IReadOnlyList<string> path) => _snapshot.FirstOrDefault(r => r.TryMatch(path, null));
}
