using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cmp;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Enrollment;
using CoapEnroll.Est;
using CoapEnroll.Est.Upstream;
using CoapEnroll.Transport;
using CoapEnroll.Pkix;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Hosting;

/// <summary>
/// Runs the <see cref="CoapServer"/> inside the generic host: takes the CA hierarchy, the server's DTLS credential and the
/// enrollment service from the host's <see cref="CertificationServices"/>, maps the EST-coaps resources (RFC 9148) and the
/// diagnostic resources, binds the coap:// and coaps:// endpoints on start (the same resources on both; EST answers 4.01 over
/// plain coap://) and closes them on stop. Registered after <see cref="CertificationServices"/>, it stops before the store closes,
/// so that no request is in flight then.
/// </summary>
public sealed partial class CoapServerService : IHostedService
{
    private readonly CoapServer _server;
    private readonly DiagnosticResources _diagnostics;
    private readonly CoapListenOptions _options;
    private readonly DtlsListenOptions _dtlsOptions;
    private readonly CertificationServices _certification;
    private readonly UpstreamHttp _upstream;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    // How the commands of the start-up hints begin (coapenroll, dotnet run --project … --): the program registers it.
    private readonly CommandLinePrefix _hints;
    private readonly ILogger<CoapServerService> _logger;
    private PlugtestObserveResources? _plugtestObserve;

    public CoapServerService(CoapServer server, DiagnosticResources diagnostics, IOptions<CoapListenOptions> options, IOptions<DtlsListenOptions> dtlsOptions,
        CertificationServices certification, UpstreamHttp upstream, ILoggerFactory loggerFactory, TimeProvider time, CommandLinePrefix hints)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(diagnostics);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dtlsOptions);
        ArgumentNullException.ThrowIfNull(certification);
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(hints);
        _server = server;
        _diagnostics = diagnostics;
        _options = options.Value;
        _dtlsOptions = dtlsOptions.Value;
        _certification = certification;
        _upstream = upstream;
        _loggerFactory = loggerFactory;
        _time = time;
        _hints = hints;
        _logger = loggerFactory.CreateLogger<CoapServerService>();
    }

    /// <summary>The bound UDP endpoint of coap:// once started; null when plain CoAP is disabled.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>The bound UDP endpoint of coaps:// once started; null when DTLS is disabled.</summary>
    public IPEndPoint? SecureLocalEndPoint { get; private set; }

    /// <summary>The UDP sockets bound for coap:// and coaps:// (under the DTLS channel), for tests.</summary>
    internal List<IDatagramChannel> BoundChannels { get; } = [];

    /// <summary>The full path of the data directory once started.</summary>
    public string? DataDirectory { get; private set; }

    /// <summary>The CA behind the EST resources once started.</summary>
    public CertificateAuthority? Authority { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if ((_options.Validate() ?? _dtlsOptions.Validate() ?? _upstream.Options.Validate()) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        // Credentials first: a bad certificate file must stop the start before anything listens. CertificationServices has
        // normally loaded them already (it starts first); if not, this loads them.
        DataDirectory = _certification.DataDirectory;
        CaHierarchy hierarchy = await _certification.GetHierarchyAsync(cancellationToken);
        bool firstStart = _certification.IsFirstStart == true;
        DtlsServerOptions? dtlsServerOptions = _dtlsOptions.Enabled
            ? await CreateDtlsServerOptionsAsync(hierarchy, await _certification.GetServerCredentialAsync(cancellationToken), cancellationToken)
            : null;
        await MapEstAsync(cancellationToken);
        if (_certification.CmpProxied)
        {
            await MapCmpProxyAsync(cancellationToken);
        }
        else if (_certification.CmpEnabled)
        {
            _server.MapCmp(await _certification.GetCmpServerAsync(cancellationToken), "cmp-coap",
                _certification.CmpAnnouncementsEnabled ? await _certification.GetCmpAnnouncerAsync(cancellationToken) : null);
        }

        // The plugtest's block-wise, observe and link-format resources; its writable /obs takes the place of the diagnostic clock.
        if (_options.PlugtestResources)
        {
            MapPlugtestBlockObserveLinkResources();
        }

        if (_options.DiagnosticResources)
        {
            _diagnostics.Map(_server, clock: !_options.PlugtestResources);
            LogDiagnostics();
        }

        if (_options.PlugtestResources)
        {
            new PlugtestResources(_time).Map(_server);
            LogPlugtest();
        }

        var address = IPAddress.Parse(_options.Bind);
        if (_options.Enabled)
        {
            IDatagramChannel? udp = null;
            var endpoint = _server.Listen(BindChannel<IDatagramChannel>(address, _options.Port, "coap://, Coap:Port",
                local => udp = _options.BindUdp(local, UdpDatagramChannel.DefaultMaxDatagramSize)));
            LocalEndPoint = (IPEndPoint)endpoint.LocalEndPoint;
            LogListening($"coap://{FormatHost(LocalEndPoint.Address)}:{LocalEndPoint.Port}", Families(LocalEndPoint));
            BoundChannels.Add(udp!);
            LogReceiveBuffer("coap", udp);
        }
        else
        {
            LogCoapDisabled();
        }

        if (dtlsServerOptions is not null)
        {
            IDatagramChannel? udp = null;
            var secure = _server.Listen(BindChannel<IDatagramChannel>(address, _dtlsOptions.Port, "coaps://, Dtls:Port",
                local => new DtlsServerChannel(udp = _options.BindUdp(local, dtlsServerOptions.PathMtu), dtlsServerOptions)));
            SecureLocalEndPoint = (IPEndPoint)secure.LocalEndPoint;
            LogListening($"coaps://{FormatHost(SecureLocalEndPoint.Address)}:{SecureLocalEndPoint.Port}", Families(SecureLocalEndPoint) + ", DTLS 1.2");
            BoundChannels.Add(udp!);
            LogReceiveBuffer("coaps", udp);
        }
        else
        {
            // Say so, or an operator looks for a port that is not there.
            LogCoapsDisabled();
        }

        if (LocalEndPoint is not null)
        {
            LogHint(_hints.Format("coap", "get", $"coap://{HintHost(LocalEndPoint)}:{LocalEndPoint.Port}/.well-known/core"));
        }

        if (SecureLocalEndPoint is not null)
        {
            string trust = Path.Combine(DataDirectory, "trust-anchor.pem");
            string coaps = $"coaps://{HintHost(SecureLocalEndPoint)}:{SecureLocalEndPoint.Port}";
            LogHint(_hints.Format("coap", "get", $"{coaps}/.well-known/core", "--trust", trust));
            if (firstStart && File.Exists(hierarchy.Layout.DemoDeviceCertificate))
            {
                LogEnrollHint(_hints.Format("est", "enroll", "--server", coaps, "--trust", trust, "--cert", hierarchy.Layout.DemoDeviceCertificate,
                    "--key", hierarchy.Layout.DemoDeviceKey, "--subject", "CN=demo-device-1", "--out", "dev.pem", "--key-out", "dev.key"));
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _diagnostics.Dispose();
        _plugtestObserve?.Dispose();

        // The store closes after this, when CertificationServices stops: the handlers use it until the server is disposed.
        await _server.DisposeAsync();

        LogStopped();
    }

    /// <summary>
    /// The resources of the CoAP plugtest's block-wise, observe and link-format test descriptions (Coap:PlugtestResources=true):
    /// writable by anyone, for conformance runs only.
    /// </summary>
    private void MapPlugtestBlockObserveLinkResources()
    {
        new PlugtestBlockResources().Map(_server);
        _plugtestObserve = new PlugtestObserveResources(TimeSpan.FromSeconds(_options.PlugtestObserveIntervalSeconds), _time);
        _plugtestObserve.Map(_server);
        PlugtestLinkResources.Map(_server);
        LogPlugtestBlockObserveLink(_options.PlugtestObserveIntervalSeconds);
    }

    /// <summary>
    /// Maps EST-coaps in front of the host's enrollment service (<see cref="CertificationServices"/>: the store DIR/coapenroll.db,
    /// the CA with the <c>Ca</c> section's profiles, the <c>Est</c> section's settings).
    /// </summary>
    private async Task MapEstAsync(CancellationToken cancellationToken)
    {
        EnrollmentService enrollment = await _certification.GetEnrollmentAsync(cancellationToken);
        EstServerOptions estOptions = _certification.EstOptions!;
        Authority = enrollment.Authority;
        if (_upstream.Options.EstUri is { } target)
        {
            // The registrar (RFC 9148 §5): devices are authenticated and checked here, their requests issued upstream.
            UpstreamOptions upstream = _upstream.Options;
            var client = new EstHttpsClient(await _upstream.GetHttpClientAsync(cancellationToken), target, upstream.Timeout, upstream.MaxResponseBytes, _time);
            new EstCoapsServer(estOptions, enrollment, client, _loggerFactory.CreateLogger<EstCoapsServer>(), _time, _upstream.Limiter).Map(_server);
            LogEstRegistrar(target, upstream.TimeoutSeconds, upstream.TrustFile is { Length: > 0 } trust ? trust : "the system's trust store",
                DescribeClientCertificate(upstream));
            return;
        }

        _server.MapEstCoaps(estOptions, enrollment, _loggerFactory, _time);
        LogEst(string.Join(", ", estOptions.Roots), string.Join(", ", Authority.Profiles.All.Select(p => p.Name)), enrollment.Hierarchy.TrustedManufacturerCas.Count);
    }

    /// <summary>
    /// Maps the CoAP CMP resources as a proxy to <c>Upstream:Cmp</c> (RFC 9482 §4) on the shared upstream client and bounds.
    /// Building the client loads the TLS files, so that an unusable one stops the start.
    /// </summary>
    private async Task MapCmpProxyAsync(CancellationToken cancellationToken)
    {
        UpstreamOptions upstream = _upstream.Options;
        Uri target = upstream.CmpUri!; // validated in StartAsync
        HttpClient http = await _upstream.GetHttpClientAsync(cancellationToken);
        var proxy = new CmpCoapProxy(http, new CmpCoapProxyOptions
        {
            Upstream = target,
            Timeout = upstream.Timeout,
            MaxResponseBytes = upstream.MaxResponseBytes,
        }, _upstream.Limiter, _loggerFactory.CreateLogger<CmpCoapProxy>(), _time);
        _server.MapCmpProxy(proxy);
        LogCmpProxy(target, upstream.TimeoutSeconds, upstream.MaxConcurrent, upstream.MaxConcurrentPerPeer,
            upstream.TrustFile is { Length: > 0 } trust ? trust : "the system's trust store", DescribeClientCertificate(upstream));
    }

    /// <summary>What the start-up line says about the upstream client certificate: the file it is read from, not just whether there is one.</summary>
    private static string DescribeClientCertificate(UpstreamOptions upstream)
        => upstream.CertificateFile is { Length: > 0 } file ? Path.GetFullPath(file) : "none";

    /// <summary>
    /// The DTLS server settings: the credential and client-certificate trust from <see cref="DtlsServerTrust"/> (the server
    /// credential, the CA's trust anchor, the trusted manufacturer CAs and Dtls:ClientTrustAnchorFiles as client trust anchors,
    /// untrusted client certificates admitted unless Dtls:RejectUntrustedClientCertificates), then the Dtls section's PSK
    /// identities, extended master secret policy, key log and connection and handshake bounds.
    /// </summary>
    private async Task<DtlsServerOptions> CreateDtlsServerOptionsAsync(CaHierarchy hierarchy, ServerCredential credential, CancellationToken cancellationToken)
    {
        var additionalAnchors = new List<X509Certificate2>();
        foreach (string file in _dtlsOptions.ClientTrustAnchorFiles ?? [])
        {
            additionalAnchors.AddRange(await PemCredentialFiles.LoadCertificatesAsync(file, cancellationToken));
        }

        DtlsServerOptions options = DtlsServerTrust.CreateServerOptions(credential, hierarchy, !_dtlsOptions.RejectUntrustedClientCertificates, additionalAnchors);
        options.ExtendedMasterSecret = _dtlsOptions.ParseExtendedMasterSecret()!.Value; // validated in StartAsync
        options.KeyLogFile = _dtlsOptions.KeyLogFile is { Length: > 0 } keyLog ? Path.GetFullPath(keyLog) : null;
        options.UseSslKeyLogFileEnvironment = _dtlsOptions.UseSslKeyLogFile;
        options.MaxConnections = _dtlsOptions.MaxConnections;
        options.MaxHandshakes = _dtlsOptions.MaxHandshakes;
        options.MaxHandshakesPerAddress = _dtlsOptions.MaxHandshakesPerAddress;
        options.MaxConnectionsPerAddress = _dtlsOptions.MaxConnectionsPerAddress;
        options.ConnectionIdPrefix = _dtlsOptions.ConnectionIdPrefixBytes();
        options.LoggerFactory = _loggerFactory;
        options.TimeProvider = _time;
        if (_dtlsOptions.PskKeys() is { Count: > 0 } keys)
        {
            options.PskKeyLookup = (identity, _) => ValueTask.FromResult(
                keys.TryGetValue(System.Text.Encoding.UTF8.GetString(identity.Span), out byte[]? key) ? (byte[]?)key.Clone() : null);
            LogPsk(keys.Count);
        }

        if (options.KeyLogFile is not null || (options.UseSslKeyLogFileEnvironment && Environment.GetEnvironmentVariable("SSLKEYLOGFILE") is { Length: > 0 }))
        {
            LogKeyLog(options.KeyLogFile ?? Environment.GetEnvironmentVariable("SSLKEYLOGFILE")!);
        }

        if (credential.Certificate.GetECDsaPublicKey() is null)
        {
            throw new CaConfigurationException(_dtlsOptions.CertificateFile, CaConfigurationProblem.InvalidSetting,
                "the DTLS server certificate must have an ECDSA (P-256 or P-384) key");
        }

        LogDtlsCredential(credential.Certificate.Subject, options.ClientCertificateTrustAnchors.Count);
        if (options.ExtendedMasterSecret == ExtendedMasterSecretPolicy.Optional)
        {
            LogExtendedMasterSecretOptional();
        }

        return options;
    }

    /// <summary>Binds, naming the address, port and setting when the system refuses (e.g. a port another program holds).</summary>
    /// <exception cref="ListenException">The socket cannot be bound.</exception>
    private T BindChannel<T>(IPAddress address, int port, string what, Func<IPEndPoint, T> bind)
    {
        try
        {
            return BindChannelOrFallBack(address, port, bind);
        }
        catch (SocketException ex)
        {
            throw new ListenException($"UDP {FormatHost(address)}:{port} ({what})", ex);
        }
    }

    private T BindChannelOrFallBack<T>(IPAddress address, int port, Func<IPEndPoint, T> bind)
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

    [LoggerMessage(2, LogLevel.Information, "Diagnostic resources /test, /large, /obs and /whoami are enabled (disable with Coap:DiagnosticResources=false)")]
    private partial void LogDiagnostics();

    [LoggerMessage(17, LogLevel.Warning, "Plugtest resources /separate, /seg1/seg2/seg3, /query, /location-query, /multi-format, /validate and /create1 are enabled, "
        + "and POST /test creates /location1/location2/location3 (Coap:PlugtestResources=true: for conformance tests, not for a deployed server)")]
    private partial void LogPlugtest();

    [LoggerMessage(3, LogLevel.Information, "CoAP server listening on {Address} ({Families})")]
    private partial void LogListening(string address, string families);

    /// <summary>Says what receive buffer the system granted, at Information when it is less than what was asked.</summary>
    private void LogReceiveBuffer(string scheme, IDatagramChannel? channel)
    {
        if (channel is null || CoapListenOptions.GrantedReceiveBuffer(channel) is not { } granted || _options.SocketReceiveBufferBytes == 0)
        {
            return;
        }

        if (granted < _options.SocketReceiveBufferBytes)
        {
            LogReceiveBufferCapped(scheme, _options.SocketReceiveBufferBytes, granted);
        }
        else
        {
            LogReceiveBufferGranted(scheme, granted);
        }
    }

    [LoggerMessage(20, LogLevel.Debug, "{Scheme} socket receive buffer: {Granted} bytes")]
    private partial void LogReceiveBufferGranted(string scheme, int granted);

    [LoggerMessage(21, LogLevel.Information, "{Scheme} socket receive buffer: asked for {Asked} bytes (Coap:SocketReceiveBufferBytes), the system granted {Granted}; "
        + "raise net.core.rmem_max for more (a burst beyond it is dropped by the kernel)")]
    private partial void LogReceiveBufferCapped(string scheme, int asked, int granted);

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

    [LoggerMessage(10, LogLevel.Information, "EST-coaps (RFC 9148) under {Roots}; profiles: {Profiles}; trusted manufacturer CAs: {ManufacturerCount}")]
    private partial void LogEst(string roots, string profiles, int manufacturerCount);

    [LoggerMessage(11, LogLevel.Information, "Enroll the demo device: {Command}")]
    private partial void LogEnrollHint(string command);

    [LoggerMessage(12, LogLevel.Warning, "Dtls:ExtendedMasterSecret=Optional: clients without extended_master_secret (RFC 7627) are admitted; "
        + "their sessions are logged, shown by /whoami, and refused proof-of-possession linking by EST")]
    private partial void LogExtendedMasterSecretOptional();

    [LoggerMessage(15, LogLevel.Information, "coaps:// disabled (Dtls:Enabled=false, which --coaps-port off sets): devices cannot authenticate over DTLS")]
    private partial void LogCoapsDisabled();

    [LoggerMessage(16, LogLevel.Information, "coap:// disabled (Coap:Enabled=false, which --coap-port off sets): no plain CoAP")]
    private partial void LogCoapDisabled();

    [LoggerMessage(14, LogLevel.Information, "EST-coaps is a registrar (RFC 9148 §5) forwarding to {Upstream}: timeout {TimeoutSeconds} s, upstream trust {Trust}, "
        + "client certificate {ClientCertificate}; devices are authenticated and their names and proof-of-possession links checked here")]
    private partial void LogEstRegistrar(Uri upstream, double timeoutSeconds, string trust, string clientCertificate);

    [LoggerMessage(13, LogLevel.Information, "CMP over CoAP is forwarded to {Upstream} (RFC 9482 §4; no local CMP server): timeout {TimeoutSeconds} s, "
        + "at most {MaxConcurrent} requests upstream at once and {MaxPerPeer} per client; upstream TLS trust: {Trust}; client certificate: {ClientCertificate}")]
    private partial void LogCmpProxy(Uri upstream, double timeoutSeconds, int maxConcurrent, int maxPerPeer, string trust, string clientCertificate);

    [LoggerMessage(9, LogLevel.Warning, "DTLS session keys are written to {KeyLogFile}: anyone with that file can decrypt captured traffic (debugging only)")]
    private partial void LogKeyLog(string keyLogFile);

    [LoggerMessage(16, LogLevel.Warning, "CoAP plugtest resources are enabled (Coap:PlugtestResources=true): /large-update, /large-create, /large-post, "
        + "/obs (writable, changing every {IntervalSeconds} s), /obs-non, /obs-large, /link1-3 and /path; anyone may write them, so use this for conformance tests only")]
    private partial void LogPlugtestBlockObserveLink(double intervalSeconds);
}
