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

namespace CoapEnroll.Hosting;

/// <summary>
/// One Kestrel listener with a minimal ASP.NET Core application of its own (routing only, no static files, logging through the
/// host's <see cref="ILoggerFactory"/>): what <see cref="HttpServerService"/> and <see cref="HttpsServerService"/> share. It binds
/// one address and port with the <c>Http</c> section's limits, lets the sources that want this listener map their routes (a path
/// none mapped is 404), falls back from <c>::</c> to 0.0.0.0 where IPv6 is unavailable, and reports the bound endpoint.
/// </summary>
internal sealed class KestrelListener : IAsyncDisposable
{
    private readonly string _name;
    private readonly HttpListenOptions _limits;
    private readonly IReadOnlyList<IHttpEndpointSource> _sources;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Action<ListenOptions>? _configure;
    private readonly PerPeerConnectionLimit _perPeer;
    private WebApplication? _app;

    /// <param name="name">"HTTP" or "HTTPS", in the bind failure messages.</param>
    /// <param name="limits">The Kestrel limits (the <c>Http</c> section's, for both listeners).</param>
    /// <param name="sources">The sources whose routes this listener serves (already filtered by listener).</param>
    /// <param name="loggerFactory">The host's, for Kestrel's and the handlers' logs.</param>
    /// <param name="configure">Adds to the endpoint's settings, e.g. TLS; null for plain HTTP.</param>
    public KestrelListener(string name, HttpListenOptions limits, IReadOnlyList<IHttpEndpointSource> sources, ILoggerFactory loggerFactory,
        Action<ListenOptions>? configure)
    {
        _name = name;
        _limits = limits;
        _sources = sources;
        _loggerFactory = loggerFactory;
        _configure = configure;
        _perPeer = new PerPeerConnectionLimit(limits.MaxConnectionsPerPeer);
    }

    /// <summary>The bound TCP endpoint once started (the actual port when 0 was asked for); null when stopped.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Binds <paramref name="bind"/>:<paramref name="port"/>; for <c>::</c> without IPv6, 0.0.0.0 after <paramref name="onNoIPv6"/>.</summary>
    /// <exception cref="ListenException">The address cannot be bound (e.g. the port is in use): names the listener and its setting, as
    /// the CoAP listeners do ("TCP [::]:8080 (http://, Http:Port)"), with the <see cref="SocketException"/> inside.</exception>
    public async Task StartAsync(string bind, int port, Action<string> onNoIPv6, CancellationToken cancellationToken)
    {
        try
        {
            await StartOrFallBackAsync(bind, port, onNoIPv6, cancellationToken);
        }
        catch (SocketException ex)
        {
            string setting = _name == "HTTPS" ? "https://, Https:Port" : "http://, Http:Port";
            throw new ListenException($"TCP {FormatHost(IPAddress.Parse(bind))}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)} ({setting})", ex);
        }
    }

    private async Task StartOrFallBackAsync(string bind, int port, Action<string> onNoIPv6, CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(bind);
        if (address.Equals(IPAddress.IPv6Any))
        {
            if (!Socket.OSSupportsIPv6)
            {
                onNoIPv6("IPv6 is not available on this host");
                address = IPAddress.Any;
            }
            else
            {
                try
                {
                    await StartOnAsync(address, port, cancellationToken);
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.ProtocolNotSupported
                    or SocketError.AddressNotAvailable or SocketError.ProtocolFamilyNotSupported)
                {
                    onNoIPv6(ex.Message);
                    address = IPAddress.Any;
                }
            }
        }

        if (_app is null)
        {
            await StartOnAsync(address, port, cancellationToken);
        }
    }

    /// <summary>Stops the application, letting requests in flight finish within the host's shutdown timeout; false when not running.</summary>
    public async Task<bool> StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not { } app)
        {
            return false;
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

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }
    }

    /// <summary>Builds the application bound to <paramref name="address"/>, starts it and sets <see cref="LocalEndPoint"/>.</summary>
    private async Task StartOnAsync(IPAddress address, int port, CancellationToken cancellationToken)
    {
        ListenOptions? listen = null;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = "coapenroll-" + _name.ToLowerInvariant(),
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(new HostLoggerFactory(_loggerFactory)));
        builder.Services.Replace(ServiceDescriptor.Singleton<IHostLifetime, OuterHostLifetime>());
        builder.Services.AddRouting();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = _limits.MaxRequestBodySize;
            kestrel.Limits.MaxRequestHeadersTotalSize = _limits.MaxRequestHeadersTotalSize;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(_limits.RequestHeadersTimeoutSeconds);
            kestrel.Limits.MaxConcurrentConnections = _limits.MaxConcurrentConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = 0;
            kestrel.Listen(address, port, options =>
            {
                options.Protocols = HttpProtocols.Http1;

                // First in the connection pipeline, before TLS: a peer over its bound costs no handshake.
                options.Use(_perPeer.Wrap);
                _configure?.Invoke(options);
                listen = options;
            });
        });

        WebApplication app = builder.Build();
        try
        {
            app.UseRouting();
            foreach (IHttpEndpointSource source in _sources)
            {
                source.MapEndpoints(app);
            }

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
    private SocketException? Unwrap(Exception ex) => ex switch
    {
        SocketException socket => socket,
        AddressInUseException => new SocketException((int)SocketError.AddressAlreadyInUse),
        IOException { InnerException: { } inner } => Unwrap(inner) is { } unwrapped ? new SocketException((int)unwrapped.SocketErrorCode) : null,
        _ => null,
    };

    /// <summary>127.0.0.1 for a wildcard bind, else the address ([v6] in brackets): the host part of a URL to try.</summary>
    public static string HintHost(IPEndPoint local) => local.Address.Equals(IPAddress.IPv6Any) || local.Address.Equals(IPAddress.Any)
        ? "127.0.0.1"
        : FormatHost(local.Address);

    public static string FormatHost(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    /// <summary>"TCP" or "TCP, IPv6 and IPv4" for the listening log line.</summary>
    public static string Families(IPEndPoint local) => local.Address.Equals(IPAddress.IPv6Any) ? "TCP, IPv6 and IPv4" : "TCP";
}
