using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Coap;

/// <summary>
/// A CoAP server: resources mapped by path and method in the spirit of ASP.NET Core minimal APIs,
/// served on one or more datagram channels (UDP, DTLS) through one request pipeline.
/// </summary>
public sealed class CoapServer : IAsyncDisposable
{
    private readonly CoapRouter _router = new();
    private readonly List<CoapEndpoint> _endpoints = [];
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly CoapObserveLayer _observe;
    private ICoapRequestHandler? _pipeline;

    public CoapServer(CoapServerOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        Options = options ?? new CoapServerOptions();
        Options.ValidateBlockWise();

        // Before anything is mapped: Map hands every resource the observe layer.
        _observe = new CoapObserveLayer(_router, Options, _router.Find, timeProvider, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<CoapObserveLayer>());
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _time = timeProvider ?? TimeProvider.System;
        MapGet(WellKnownCore.Path, (context, _) => WellKnownCore.HandleAsync(this, context))
            .WithContentFormat(CoapContentFormat.LinkFormat);
    }

    public CoapServerOptions Options { get; }

    /// <summary>Every mapped resource.</summary>
    public IReadOnlyList<CoapResource> Resources => _router.Resources;

    /// <summary>The endpoints the server listens on.</summary>
    public IReadOnlyList<CoapEndpoint> Endpoints => _endpoints;

    public CoapResource Map(string pattern, CoapCode method, CoapRequestDelegate handler)
    {
        var resource = _router.GetOrAdd(pattern);
        resource.SetHandler(method, handler);
        resource.ObserveLayer = _observe;
        return resource;
    }

    public CoapResource MapGet(string pattern, CoapRequestDelegate handler) => Map(pattern, CoapCode.Get, handler);

    public CoapResource MapPost(string pattern, CoapRequestDelegate handler) => Map(pattern, CoapCode.Post, handler);

    public CoapResource MapPut(string pattern, CoapRequestDelegate handler) => Map(pattern, CoapCode.Put, handler);

    public CoapResource MapDelete(string pattern, CoapRequestDelegate handler) => Map(pattern, CoapCode.Delete, handler);

    public CoapResource MapFetch(string pattern, CoapRequestDelegate handler) => Map(pattern, CoapCode.Fetch, handler);

    /// <summary>Starts serving on <paramref name="channel"/>; the server owns and disposes it.</summary>
    public CoapEndpoint Listen(IDatagramChannel channel)
    {
        _pipeline ??= BuildPipeline();
        var endpoint = new CoapEndpoint(channel, Options.Endpoint, _loggerFactory.CreateLogger<CoapEndpoint>(), _time);
        lock (_endpoints)
        {
            _endpoints.Add(endpoint);
        }

        endpoint.Start(_pipeline);
        return endpoint;
    }

    /// <summary>
    /// Tells the observers of <paramref name="path"/> (a request path such as <c>/status/42</c>, matched
    /// against each registration's Uri-Path) that its state changed: each gets a notification with the
    /// current representation (RFC 7641 §4.2). Returns how many observers were notified; sending is
    /// asynchronous. <see cref="CoapResource.NotifyObservers"/> notifies all observers of a resource.
    /// </summary>
    public int NotifyObservers(string path) => _observe.Notify(path);

    /// <summary>The observe layer (RFC 7641); the block-wise layer sets its <c>ShapeNotification</c>.</summary>
    internal CoapObserveLayer ObserveLayer => _observe;

    /// <summary>
    /// The request pipeline every endpoint hands its requests to (built on first use, as <see cref="Listen"/> does), for the
    /// fuzz target that drives it with requests without an endpoint's receive loop.
    /// </summary>
    internal ICoapRequestHandler Pipeline => _pipeline ??= BuildPipeline();

    /// <summary>The block-wise layer, once the first endpoint listens (for tests: what it holds).</summary>
    internal CoapBlockWiseLayer? BlockWise { get; private set; }

    // Outermost first: block-wise (RFC 7959) → observe (RFC 7641) → router. The layers below block-wise
    // see whole request and response bodies; notifications, which bypass it, are cut to their first
    // block through the observe layer's ShapeNotification hook (RFC 7959 §2.6). The router's authorization
    // phase (4.04, 4.05, a resource's RequireAuthorization check) runs in the block-wise layer, before any
    // of a body is held.
    private ICoapRequestHandler BuildPipeline()
    {
        var blockWise = new CoapBlockWiseLayer(_observe, Options, _router.AuthorizeAsync, _loggerFactory.CreateLogger<CoapBlockWiseLayer>());
        _observe.ShapeNotification = blockWise.ShapeNotification;
        BlockWise = blockWise;
        return blockWise;
    }

    public async ValueTask DisposeAsync()
    {
        _observe.Stop();
        CoapEndpoint[] endpoints;
        lock (_endpoints)
        {
            endpoints = [.. _endpoints];
            _endpoints.Clear();
        }

        foreach (var endpoint in endpoints)
        {
            await endpoint.DisposeAsync();
        }
    }
}
