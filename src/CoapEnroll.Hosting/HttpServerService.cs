using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Hosting;

/// <summary>
/// The HTTP listener (Kestrel, plain http:// for now) inside the generic host, for CMP over HTTP (RFC 6712) and whatever else
/// registers an <see cref="IHttpEndpointSource"/>. On start it builds a minimal ASP.NET Core application (routing only, no
/// static files, no HTTPS, logging through the host's <see cref="ILoggerFactory"/>), lets every registered
/// <see cref="IHttpEndpointSource"/> map its routes, and binds <c>Http:Bind</c>:<c>Http:Port</c>; a path no source mapped is
/// answered 404. On stop it stops that application, letting requests in flight finish within the host's shutdown timeout.
/// Nothing listens when <c>Http:Enabled</c> is false.
/// </summary>
public sealed partial class HttpServerService : IHostedService, IAsyncDisposable
{
    private readonly HttpListenOptions _options;
    private readonly IReadOnlyList<IHttpEndpointSource> _sources;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<HttpServerService> _logger;
    private WebApplication? _app;

    public HttpServerService(IOptions<HttpListenOptions> options, IEnumerable<IHttpEndpointSource> sources, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _sources = [.. sources];
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<HttpServerService>();
    }

    /// <summary>The bound TCP endpoint of http:// once started (the actual port when <c>Http:Port</c> is 0); null when disabled or stopped.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>http://HOST:PORT for <see cref="LocalEndPoint"/> (127.0.0.1 for a wildcard bind); null when not listening.</summary>
    public Uri? LocalUri => LocalEndPoint is { } local ? new Uri($"http://{HintHost(local)}:{local.Port}/") : null;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The <c>Http</c> section is not usable.</exception>
    /// <exception cref="SocketException">The address cannot be bound (e.g. the port is in use).</exception>
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

        var address = IPAddress.Parse(_options.Bind);
        if (address.Equals(IPAddress.IPv6Any))
        {
            if (!Socket.OSSupportsIPv6)
            {
                LogNoIPv6("IPv6 is not available on this host");
                address = IPAddress.Any;
            }
            else
            {
                try
                {
                    await StartOnAsync(address, cancellationToken);
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.ProtocolNotSupported
                    or SocketError.AddressNotAvailable or SocketError.ProtocolFamilyNotSupported)
                {
                    LogNoIPv6(ex.Message);
                    address = IPAddress.Any;
                }
            }
        }

        if (_app is null)
        {
            await StartOnAsync(address, cancellationToken);
        }

        IPEndPoint local = LocalEndPoint!;
        LogListening($"http://{FormatHost(local.Address)}:{local.Port}", local.Address.Equals(IPAddress.IPv6Any) ? "TCP, IPv6 and IPv4" : "TCP",
            _sources.Count);
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not { } app)
        {
            return;
        }

        _app = null;
        LocalEndPoint = null;
        try
        {
            await app.StopAsync(cancellationToken);
        }
        finally
        {
            await app.DisposeAsync();
        }

        LogStopped();
    }

    /// <summary>Disposes the inner application if the host was not stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }
    }

    /// <summary>Builds the inner application bound to <paramref name="address"/>, starts it and sets <see cref="LocalEndPoint"/>.</summary>
    private async Task StartOnAsync(IPAddress address, CancellationToken cancellationToken)
    {
        ListenOptions? listen = null;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = "coapenroll-http",
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(new HostLoggerFactory(_loggerFactory)));
        builder.Services.Replace(ServiceDescriptor.Singleton<IHostLifetime, OuterHostLifetime>());
        builder.Services.AddRouting();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = _options.MaxRequestBodySize;
            kestrel.Limits.MaxRequestHeadersTotalSize = _options.MaxRequestHeadersTotalSize;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(_options.RequestHeadersTimeoutSeconds);
            kestrel.Limits.MaxConcurrentConnections = _options.MaxConcurrentConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = 0;
            kestrel.Listen(address, _options.Port, options =>
            {
                options.Protocols = HttpProtocols.Http1;
                listen = options;
            });
        });

        WebApplication app = builder.Build();
        app.UseRouting();
        foreach (IHttpEndpointSource source in _sources)
        {
            source.MapEndpoints(app);
        }

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            await app.DisposeAsync();
            if (Unwrap(ex) is { } socket)
            {
                throw socket;
            }

            throw;
        }

        _app = app;

        // Kestrel replaces the configured endpoint with the bound one, so port 0 reads back as the port it got.
        LocalEndPoint = listen?.IPEndPoint ?? throw new InvalidOperationException("Kestrel did not report the bound endpoint.");
    }

    /// <summary>Kestrel's bind failures as the <see cref="SocketException"/> that the CoAP listener throws for the same problem.</summary>
    private static SocketException? Unwrap(Exception ex) => ex switch
    {
        SocketException socket => socket,
        AddressInUseException inUse => new SocketException((int)SocketError.AddressAlreadyInUse, $"HTTP: {inUse.Message.TrimEnd('.')}"),
        IOException { InnerException: { } inner } => Unwrap(inner) is { } unwrapped
            ? new SocketException((int)unwrapped.SocketErrorCode, $"HTTP: {ex.Message.TrimEnd('.')}")
            : null,
        _ => null,
    };

    private static string HintHost(IPEndPoint local) => local.Address.Equals(IPAddress.IPv6Any) || local.Address.Equals(IPAddress.Any)
        ? "127.0.0.1"
        : FormatHost(local.Address);

    private static string FormatHost(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    [LoggerMessage(20, LogLevel.Information, "HTTP server listening on {Address} ({Families}); endpoint sources: {SourceCount}")]
    private partial void LogListening(string address, string families, int sourceCount);

    [LoggerMessage(21, LogLevel.Information, "HTTP server disabled (Http:Enabled=false)")]
    private partial void LogDisabled();

    [LoggerMessage(22, LogLevel.Warning, "Binding [::] for HTTP failed ({Reason}); listening on 0.0.0.0 (IPv4 only) instead")]
    private partial void LogNoIPv6(string reason);

    [LoggerMessage(23, LogLevel.Information, "HTTP server stopped")]
    private partial void LogStopped();
}
