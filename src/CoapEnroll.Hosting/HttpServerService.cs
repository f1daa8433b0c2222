using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Hosting;

/// <summary>
/// The plain HTTP listener (Kestrel, http://) inside the generic host, for CMP over HTTP (RFC 6712) and whatever else registers an
/// <see cref="IHttpEndpointSource"/> naming <see cref="HttpListenerKind.Http"/>. On start it builds a minimal ASP.NET Core
/// application (<see cref="KestrelListener"/>), lets those sources map their routes, and binds <c>Http:Bind</c>:<c>Http:Port</c>; a
/// path no source mapped is answered 404. On stop it stops that application, letting requests in flight finish within the host's
/// shutdown timeout. Nothing listens when <c>Http:Enabled</c> is false. https:// is <see cref="HttpsServerService"/>.
/// </summary>
public sealed partial class HttpServerService : IHostedService, IAsyncDisposable
{
    private readonly HttpListenOptions _options;
    private readonly IReadOnlyList<IHttpEndpointSource> _sources;
    private readonly ILogger<HttpServerService> _logger;
    private readonly KestrelListener _listener;

    public HttpServerService(IOptions<HttpListenOptions> options, IEnumerable<IHttpEndpointSource> sources, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _sources = [.. sources.Where(s => s.Listeners.HasFlag(HttpListenerKind.Http))];
        _logger = loggerFactory.CreateLogger<HttpServerService>();
        _listener = new KestrelListener("HTTP", _options, _sources, loggerFactory, null);
    }

    /// <summary>The bound TCP endpoint of http:// once started (the actual port when <c>Http:Port</c> is 0); null when disabled or stopped.</summary>
    public IPEndPoint? LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>http://HOST:PORT for <see cref="LocalEndPoint"/> (127.0.0.1 for a wildcard bind); null when not listening.</summary>
    public Uri? LocalUri => LocalEndPoint is { } local ? new Uri($"http://{KestrelListener.HintHost(local)}:{local.Port}/") : null;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The <c>Http</c> section is not usable.</exception>
    /// <exception cref="ListenException">The address cannot be bound (e.g. the port is in use).</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Validate() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        if (!_options.Enabled)
        {
            LogDisabled();
            return;
        }

        await _listener.StartAsync(_options.Bind, _options.Port, LogNoIPv6, cancellationToken);
        IPEndPoint local = LocalEndPoint!;
        LogListening($"http://{KestrelListener.FormatHost(local.Address)}:{local.Port}", KestrelListener.Families(local), _sources.Count);
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (await _listener.StopAsync(cancellationToken))
        {
            LogStopped();
        }
    }

    /// <summary>Disposes the inner application if the host was not stopped.</summary>
    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    [LoggerMessage(20, LogLevel.Information, "HTTP server listening on {Address} ({Families}); endpoint sources: {SourceCount}")]
    private partial void LogListening(string address, string families, int sourceCount);

    [LoggerMessage(21, LogLevel.Information, "HTTP server disabled (Http:Enabled=false)")]
    private partial void LogDisabled();

    [LoggerMessage(22, LogLevel.Warning, "Binding [::] for HTTP failed ({Reason}); listening on 0.0.0.0 (IPv4 only) instead")]
    private partial void LogNoIPv6(string reason);

    [LoggerMessage(23, LogLevel.Information, "HTTP server stopped")]
    private partial void LogStopped();
}
