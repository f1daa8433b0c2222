using System.Net;
using System.Net.Sockets;
using CoapEnroll.Coap;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Cli.Serve;

/// <summary>
/// Runs the <see cref="CoapServer"/> inside the generic host: creates the data directory, maps the
/// resources, binds the UDP endpoint on start and closes it on stop.
/// </summary>
internal sealed partial class CoapServerService : IHostedService
{
    private readonly CoapServer _server;
    private readonly DiagnosticResources _diagnostics;
    private readonly CoapListenOptions _options;
    private readonly IConfiguration _configuration;
    private readonly ILogger<CoapServerService> _logger;

    public CoapServerService(CoapServer server, DiagnosticResources diagnostics, IOptions<CoapListenOptions> options, IConfiguration configuration,
        ILogger<CoapServerService> logger)
    {
        _server = server;
        _diagnostics = diagnostics;
        _options = options.Value;
        _configuration = configuration;
        _logger = logger;
    }

    /// <summary>The bound UDP endpoint once started.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>The full path of the data directory once started.</summary>
    public string? DataDirectory { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Validate() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        DataDirectory = Path.GetFullPath(_configuration[ServeConfigurationKeys.DataDirectory] is { Length: > 0 } dir ? dir : ServeConfigurationKeys.DefaultDataDirectory);
        Directory.CreateDirectory(DataDirectory);
        LogDataDirectory(DataDirectory);

        if (_options.DiagnosticResources)
        {
            _diagnostics.Map(_server);
            LogDiagnostics();
        }

        var channel = BindChannel(IPAddress.Parse(_options.Bind), _options.Port);
        var endpoint = _server.Listen(channel);
        LocalEndPoint = (IPEndPoint)endpoint.LocalEndPoint;

        string families = LocalEndPoint.Address.Equals(IPAddress.IPv6Any) ? "UDP, IPv6 and IPv4" : "UDP";
        LogListening($"coap://{FormatHost(LocalEndPoint.Address)}:{LocalEndPoint.Port}", families);
        string hintHost = LocalEndPoint.Address.Equals(IPAddress.IPv6Any) || LocalEndPoint.Address.Equals(IPAddress.Any)
            ? "127.0.0.1"
            : FormatHost(LocalEndPoint.Address);
        LogHint($"coapenroll coap get coap://{hintHost}:{LocalEndPoint.Port}/.well-known/core");
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _diagnostics.Dispose();
        await _server.DisposeAsync();
        LogStopped();
    }

    private UdpDatagramChannel BindChannel(IPAddress address, int port)
    {
        if (address.Equals(IPAddress.IPv6Any))
        {
            if (!Socket.OSSupportsIPv6)
            {
                LogNoIPv6("IPv6 is not available on this host");
                return UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Any, port));
            }

            try
            {
                return UdpDatagramChannel.Bind(new IPEndPoint(address, port));
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.ProtocolNotSupported
                or SocketError.AddressNotAvailable or SocketError.ProtocolFamilyNotSupported)
            {
                LogNoIPv6(ex.Message);
                return UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Any, port));
            }
        }

        return UdpDatagramChannel.Bind(new IPEndPoint(address, port));
    }

    private static string FormatHost(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    [LoggerMessage(1, LogLevel.Information, "Data directory: {DataDirectory}")]
    private partial void LogDataDirectory(string dataDirectory);

    [LoggerMessage(2, LogLevel.Information, "Diagnostic resources /test, /large and /obs are enabled (disable with Coap:DiagnosticResources=false)")]
    private partial void LogDiagnostics();

    [LoggerMessage(3, LogLevel.Information, "CoAP server listening on {Address} ({Families})")]
    private partial void LogListening(string address, string families);

    [LoggerMessage(4, LogLevel.Information, "Try: {Command}")]
    private partial void LogHint(string command);

    [LoggerMessage(5, LogLevel.Warning, "Binding [::] failed ({Reason}); listening on 0.0.0.0 (IPv4 only) instead")]
    private partial void LogNoIPv6(string reason);

    [LoggerMessage(6, LogLevel.Information, "CoAP server stopped")]
    private partial void LogStopped();
}
