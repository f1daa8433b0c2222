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
        // A request the authorization phase already routed keeps its resource: the layers between change no Uri-Path.
        var resource = context.Resource ?? Route(context);
        if (resource is null)
        {
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.NotFound });
        }

        if (!resource.TryGetHandler(context.Request.Code, out var handler))
        {
            return ValueTask.FromResult(new CoapMessage { Code = CoapCode.MethodNotAllowed });
        }

        return resource.RunsOnThreadPool && !context.StaysOnThreadPool
            ? HandleOnThreadPoolAsync(handler, context, cancellationToken)
            : handler(context, cancellationToken);
    }

    private static async ValueTask<CoapMessage> HandleOnThreadPoolAsync(CoapRequestDelegate handler, CoapRequestContext context, CancellationToken cancellationToken)
    {
        await context.ContinueOnThreadPoolAsync();
        return await handler(context, cancellationToken);
    }

    private static async ValueTask<CoapMessage?> AuthorizeOnThreadPoolAsync(CoapAuthorizationDelegate authorize, CoapRequestContext context, CancellationToken cancellationToken)
    {
        await context.ContinueOnThreadPoolAsync();
        return await authorize(context, cancellationToken);
    }

    /// <summary>
    /// The authorization phase, which the block-wise layer runs before it holds any of a request's body: routes the request
    /// and answers 4.04 or 4.05 as <see cref="HandleAsync"/> would, or runs the resource's <see cref="CoapResource.RequireAuthorization"/>
    /// check. Null lets the request through.
    /// </summary>
    public ValueTask<CoapMessage?> AuthorizeAsync(CoapRequestContext context, CancellationToken cancellationToken)
    {
        var resource = context.Resource ?? Route(context);
        if (resource is null)
        {
            return ValueTask.FromResult<CoapMessage?>(new CoapMessage { Code = CoapCode.NotFound });
        }

        if (!resource.TryGetHandler(context.Request.Code, out _))
        {
            return ValueTask.FromResult<CoapMessage?>(new CoapMessage { Code = CoapCode.MethodNotAllowed });
        }

        if (resource.Authorization is not { } authorize)
        {
            return ValueTask.FromResult<CoapMessage?>(null);
        }

        return resource.RunsOnThreadPool && !context.StaysOnThreadPool
            ? AuthorizeOnThreadPoolAsync(authorize, context, cancellationToken)
            : authorize(context, cancellationToken);
    }

    /// <summary>The resource for the request's Uri-Path, recorded in the context with its route values; null when none matches.</summary>
    private CoapResource? Route(CoapRequestContext context)
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

            if (!resource.IsLiteral)
            {
                resource.TryMatch(path, context.RouteValues);
            }

            context.Resource = resource;
            return resource;
        }

        return null;
    }

    /// <summary>The resource a request path would reach, if any.</summary>
    public CoapResource? Find(IReadOnlyList<string> path) => _snapshot.FirstOrDefault(r => r.TryMatch(path, null));
}
