using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Transport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Hosting;

/// <summary>
/// The HTTPS listener (Kestrel, https://, HTTP/1.1 over TLS 1.2 or 1.3) inside the generic host, for EST over HTTPS (RFC 7030) and
/// CMP over HTTPS: every <see cref="IHttpEndpointSource"/> naming <see cref="HttpListenerKind.Https"/> maps its routes on it. It
/// presents the <see cref="ServerCredential"/> the coaps:// listener presents (certificate and intermediates), binds
/// <c>Https:Bind</c>:<c>Https:Port</c> with the <c>Http</c> section's limits, and asks every client for a certificate without
/// requiring one and without judging it: as over DTLS, the TLS layer admits any certificate and the enrollment core decides whom
/// it trusts, so the client's chain (<see cref="TlsPeerCertificatesFeature"/>) is handed up untouched. Nothing listens when
/// <c>Https:Enabled</c> is false.
/// </summary>
public sealed partial class HttpsServerService : IHostedService, IAsyncDisposable
{
    private readonly HttpsListenOptions _options;
    private readonly HttpListenOptions _limits;
    private readonly CertificationServices _certification;
    private readonly IReadOnlyList<IHttpEndpointSource> _sources;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<HttpsServerService> _logger;
    private KestrelListener? _listener;

    public HttpsServerService(IOptions<HttpsListenOptions> options, IOptions<HttpListenOptions> limits, CertificationServices certification,
        IEnumerable<IHttpEndpointSource> sources, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(certification);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _limits = limits.Value;
        _certification = certification;
        _sources = [.. sources.Where(s => s.Listeners.HasFlag(HttpListenerKind.Https))];
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<HttpsServerService>();
    }

    /// <summary>The bound TCP endpoint of https:// once started (the actual port when <c>Https:Port</c> is 0); null when disabled or stopped.</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint;

    /// <summary>https://HOST:PORT for <see cref="LocalEndPoint"/> (127.0.0.1 for a wildcard bind); null when not listening.</summary>
    public Uri? LocalUri => LocalEndPoint is { } local ? new Uri($"https://{KestrelListener.HintHost(local)}:{local.Port}/") : null;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The <c>Https</c> section or the <c>Http</c> limits are not usable.</exception>
    /// <exception cref="ListenException">The address cannot be bound (e.g. the port is in use).</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if ((_options.Validate() ?? _limits.ValidateLimits()) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        if (!_options.Enabled)
        {
            LogDisabled();
            return;
        }

        ServerCredential credential = await _certification.GetServerCredentialAsync(cancellationToken);

        // The certificate context once, with the intermediates the server sends after its certificate (offline: the chain is what
        // the credential lists, nothing is fetched).
        SslStreamCertificateContext certificateContext = SslStreamCertificateContext.Create(credential.Certificate,
            [.. credential.Intermediates], offline: true);
        var handshake = new TlsHandshakeCallbackOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(_options.HandshakeTimeoutSeconds),
            OnConnection = context =>
            {
                var peer = new TlsPeerCertificatesFeature();
                context.Connection.Features.Set(peer);
                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = certificateContext,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ApplicationProtocols = [SslApplicationProtocol.Http11],

                    // Asked for, not required, never judged here (RFC 7030 §3.3.2 leaves the decision to the EST server, which makes
                    // it in the enrollment core): the callback accepts whatever came, or nothing, and keeps the chain as sent.
                    ClientCertificateRequired = true,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    CertificateChainPolicy = new X509ChainPolicy
                    {
                        RevocationMode = X509RevocationMode.NoCheck,
                        DisableCertificateDownloads = true,
                    },
#pragma warning disable CA5359 // Client certificates, judged by the enrollment core per request (EnrollmentService.AuthenticateAsync), not here.
                    RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                    {
                        // The platform puts the certificates the peer sent into the chain's extra store before calling back.
                        peer.Capture(certificate, chain?.ChainPolicy.ExtraStore);
                        return true;
                    },
#pragma warning restore CA5359
                });
            },
        };

        _listener = new KestrelListener("HTTPS", _limits, _sources, _loggerFactory, listen => listen.UseHttps(handshake));
        await _listener.StartAsync(_options.Bind, _options.Port, LogNoIPv6, cancellationToken);
        IPEndPoint local = LocalEndPoint!;
        LogListening($"https://{KestrelListener.FormatHost(local.Address)}:{local.Port}", KestrelListener.Families(local), _sources.Count,
            credential.Certificate.Subject);
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener is { } listener && await listener.StopAsync(cancellationToken))
        {
            LogStopped();
        }
    }

    /// <summary>Disposes the inner application if the host was not stopped.</summary>
    public ValueTask DisposeAsync() => _listener?.DisposeAsync() ?? ValueTask.CompletedTask;

    [LoggerMessage(24, LogLevel.Information, "HTTPS server listening on {Address} ({Families}, TLS 1.2 and 1.3, certificate {Subject}); endpoint sources: {SourceCount}")]
    private partial void LogListening(string address, string families, int sourceCount, string subject);

    [LoggerMessage(25, LogLevel.Information, "HTTPS server disabled (Https:Enabled=false)")]
    private partial void LogDisabled();

    [LoggerMessage(26, LogLevel.Warning, "Binding [::] for HTTPS failed ({Reason}); listening on 0.0.0.0 (IPv4 only) instead")]
    private partial void LogNoIPv6(string reason);

    [LoggerMessage(27, LogLevel.Information, "HTTPS server stopped")]
    private partial void LogStopped();
}
