using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Cli.Serve;

/// <summary>
/// Runs the <see cref="CoapServer"/> inside the generic host: creates the data directory, loads (or on first
/// start creates) the CA hierarchy and the server's DTLS credential, maps the resources, binds the coap://
/// and coaps:// endpoints on start (the same resources on both) and closes them on stop.
/// </summary>
internal sealed partial class CoapServerService : IHostedService
{
    private readonly CoapServer _server;
    private readonly DiagnosticResources _diagnostics;
    private readonly CoapListenOptions _options;
    private readonly DtlsListenOptions _dtlsOptions;
    private readonly CaHierarchyProvider _ca;
    private readonly IConfiguration _configuration;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly ILogger<CoapServerService> _logger;

    public CoapServerService(CoapServer server, DiagnosticResources diagnostics, IOptions<CoapListenOptions> options, IOptions<DtlsListenOptions> dtlsOptions,
        CaHierarchyProvider ca, IConfiguration configuration, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _server = server;
        _diagnostics = diagnostics;
        _options = options.Value;
        _dtlsOptions = dtlsOptions.Value;
        _ca = ca;
        _configuration = configuration;
        _loggerFactory = loggerFactory;
        _time = time;
        _logger = loggerFactory.CreateLogger<CoapServerService>();
    }

    /// <summary>The bound UDP endpoint of coap:// once started.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>The bound UDP endpoint of coaps:// once started; null when DTLS is disabled.</summary>
    public IPEndPoint? SecureLocalEndPoint { get; private set; }

    /// <summary>The full path of the data directory once started.</summary>
    public string? DataDirectory { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if ((_options.Validate() ?? _dtlsOptions.Validate()) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        DataDirectory = Path.GetFullPath(_configuration[ServeConfigurationKeys.DataDirectory] is { Length: > 0 } dir ? dir : ServeConfigurationKeys.DefaultDataDirectory);
        Directory.CreateDirectory(DataDirectory);
        LogDataDirectory(DataDirectory);

        // Credentials first: a bad certificate file must stop the start before anything listens.
        DtlsServerOptions? dtlsServerOptions = _dtlsOptions.Enabled ? await CreateDtlsServerOptionsAsync(DataDirectory, cancellationToken) : null;

        if (_options.DiagnosticResources)
        {
            _diagnostics.Map(_server);
            LogDiagnostics();
        }

        var address = IPAddress.Parse(_options.Bind);
        var endpoint = _server.Listen(BindChannel<IDatagramChannel>(address, _options.Port, local => UdpDatagramChannel.Bind(local)));
        LocalEndPoint = (IPEndPoint)endpoint.LocalEndPoint;
        LogListening($"coap://{FormatHost(LocalEndPoint.Address)}:{LocalEndPoint.Port}", Families(LocalEndPoint));

        if (dtlsServerOptions is not null)
        {
            var secure = _server.Listen(BindChannel<IDatagramChannel>(address, _dtlsOptions.Port, local => DtlsServerChannel.Bind(local, dtlsServerOptions)));
            SecureLocalEndPoint = (IPEndPoint)secure.LocalEndPoint;
            LogListening($"coaps://{FormatHost(SecureLocalEndPoint.Address)}:{SecureLocalEndPoint.Port}", Families(SecureLocalEndPoint) + ", DTLS 1.2");
        }

        LogHint($"coapenroll coap get coap://{HintHost(LocalEndPoint)}:{LocalEndPoint.Port}/.well-known/core");
        if (SecureLocalEndPoint is not null)
        {
            string trust = Path.Combine(DataDirectory, "trust-anchor.pem");
            LogHint($"coapenroll coap get coaps://{HintHost(SecureLocalEndPoint)}:{SecureLocalEndPoint.Port}/.well-known/core --trust {trust}");
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _diagnostics.Dispose();
        await _server.DisposeAsync();
        LogStopped();
    }

    /// <summary>
    /// The DTLS server settings: the CA's server credential (or Dtls:CertificateFile), client certificates
    /// optional but validated against the CA's trust anchor, the trusted manufacturer CAs and
    /// Dtls:ClientTrustAnchorFiles, PSK identities, and the key log.
    /// </summary>
    private async Task<DtlsServerOptions> CreateDtlsServerOptionsAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        CaHierarchy hierarchy = await _ca.GetAsync(dataDirectory, cancellationToken);
        var options = new DtlsServerOptions
        {
            Certificate = hierarchy.ServerCertificate,
            RequireClientCertificate = false,
            AllowUnvalidatedClientCertificates = _dtlsOptions.AllowUnvalidatedClientCertificates,
            KeyLogFile = _dtlsOptions.KeyLogFile is { Length: > 0 } keyLog ? Path.GetFullPath(keyLog) : null,
            UseSslKeyLogFileEnvironment = _dtlsOptions.UseSslKeyLogFile,
            LoggerFactory = _loggerFactory,
            TimeProvider = _time,
        };
        options.CertificateChain.AddRange(hierarchy.ServerChain.ToArray());
        options.ClientCertificateTrustAnchors.Add(hierarchy.TrustAnchor);
        options.ClientCertificateTrustAnchors.AddRange(hierarchy.TrustedManufacturerCas.ToArray());
        foreach (string file in _dtlsOptions.ClientTrustAnchorFiles ?? [])
        {
            options.ClientCertificateTrustAnchors.AddRange((await PemCredentialFiles.LoadCertificatesAsync(file, cancellationToken)).ToArray());
        }

        if (_dtlsOptions.Psk is { Count: > 0 } psk)
        {
            var keys = psk.ToDictionary(entry => entry.Key, entry => DtlsListenOptions.TryParseHexKey(entry.Value)!, StringComparer.Ordinal);
            options.PskKeyLookup = (identity, _) => ValueTask.FromResult(
                keys.TryGetValue(System.Text.Encoding.UTF8.GetString(identity.Span), out byte[]? key) ? (byte[]?)key.Clone() : null);
            LogPsk(keys.Count);
        }

        if (options.KeyLogFile is not null || (options.UseSslKeyLogFileEnvironment && Environment.GetEnvironmentVariable("SSLKEYLOGFILE") is { Length: > 0 }))
        {
            LogKeyLog(options.KeyLogFile ?? Environment.GetEnvironmentVariable("SSLKEYLOGFILE")!);
        }

        if (hierarchy.ServerCertificate.GetECDsaPublicKey() is null)
        {
            throw new CaConfigurationException(_dtlsOptions.CertificateFile, CaConfigurationProblem.InvalidSetting,
                "the DTLS server certificate must have an ECDSA (P-256 or P-384) key");
        }

        LogDtlsCredential(hierarchy.ServerCertificate.Subject, options.ClientCertificateTrustAnchors.Count);
        return options;
    }

    private T BindChannel<T>(IPAddress address, int port, Func<IPEndPoint, T> bind)
    {
        if (address.Equals(IPAddress.IPv6Any))
        {
            if (!Socket.OSSupportsIPv6)
            {
                LogNoIPv6("IPv6 is not available on this host");
                return bind(new IPEndPoint(IPAddress.Any, port));
            }

            try
            {
                return bind(new IPEndPoint(address, port));
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.ProtocolNotSupported
                or SocketError.AddressNotAvailable or SocketError.ProtocolFamilyNotSupported)
            {
                LogNoIPv6(ex.Message);
                return bind(new IPEndPoint(IPAddress.Any, port));
            }
        }

        return bind(new IPEndPoint(address, port));
    }

    private static string Families(IPEndPoint local) => local.Address.Equals(IPAddress.IPv6Any) ? "UDP, IPv6 and IPv4" : "UDP";

    private static string HintHost(IPEndPoint local) => local.Address.Equals(IPAddress.IPv6Any) || local.Address.Equals(IPAddress.Any)
        ? "127.0.0.1"
        : FormatHost(local.Address);

    private static string FormatHost(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    [LoggerMessage(1, LogLevel.Information, "Data directory: {DataDirectory}")]
    private partial void LogDataDirectory(string dataDirectory);

    [LoggerMessage(2, LogLevel.Information, "Diagnostic resources /test, /large, /obs and /whoami are enabled (disable with Coap:DiagnosticResources=false)")]
    private partial void LogDiagnostics();

    [LoggerMessage(3, LogLevel.Information, "CoAP server listening on {Address} ({Families})")]
    private partial void LogListening(string address, string families);

    [LoggerMessage(4, LogLevel.Information, "Try: {Command}")]
    private partial void LogHint(string command);

    [LoggerMessage(5, LogLevel.Warning, "Binding [::] failed ({Reason}); listening on 0.0.0.0 (IPv4 only) instead")]
    private partial void LogNoIPv6(string reason);

    [LoggerMessage(6, LogLevel.Information, "CoAP server stopped")]
    private partial void LogStopped();

    [LoggerMessage(7, LogLevel.Information, "DTLS server certificate: {Subject}; client certificates are optional and validated against {AnchorCount} trust anchor(s)")]
    private partial void LogDtlsCredential(string subject, int anchorCount);

    [LoggerMessage(8, LogLevel.Information, "DTLS PSK identities configured: {Count}")]
    private partial void LogPsk(int count);

    [LoggerMessage(9, LogLevel.Warning, "DTLS session keys are written to {KeyLogFile}: anyone with that file can decrypt captured traffic (debugging only)")]
    private partial void LogKeyLog(string keyLogFile);
}
