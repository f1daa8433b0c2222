using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Coap;
using CoapEnroll.Pkix;
using Microsoft.Extensions.Options;

namespace CoapEnroll.Hosting;

/// <summary>
/// The upstream side of an edge node, shared by every protocol it forwards (CMP now, EST next): one pooled <see cref="HttpClient"/>
/// for all upstream requests and one <see cref="PeerConcurrencyLimiter"/> that bounds them per CoAP client and in total, built
/// from the <c>Upstream</c> section (<see cref="UpstreamOptions"/>). The client knows no protocol: a proxy sets its own method,
/// content and media types, and its own per-request timeout (<see cref="UpstreamOptions.Timeout"/>).
/// </summary>
/// <remarks>
/// The handler (<see cref="CreateHandlerAsync"/>) keeps connections alive and pooled (up to <see cref="UpstreamOptions.MaxConcurrent"/>
/// per server) and renews them every 5 minutes so that DNS changes take effect; it follows no redirects, keeps no cookies,
/// decompresses nothing and uses no HTTP proxy. With <see cref="UpstreamOptions.TrustFile"/> the server certificate must chain to
/// those anchors alone; without it the system's trust store decides. The host name is always checked.
/// </remarks>
public sealed class UpstreamHttp : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private HttpClient? _client;

    public UpstreamHttp(IOptions<UpstreamOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        Limiter = new PeerConcurrencyLimiter(Math.Max(1, Options.MaxConcurrent), Math.Max(1, Options.MaxConcurrentPerPeer));
    }

    public UpstreamOptions Options { get; }

    /// <summary>The bounds on requests in flight upstream, for all forwarding resources together.</summary>
    public PeerConcurrencyLimiter Limiter { get; }

    /// <summary>
    /// The pooled client, built on first use (the host builds it as it starts when an upstream is configured, so that an unusable
    /// certificate, key or trust file stops the start). Do not dispose it; it lives as long as this service.
    /// </summary>
    /// <exception cref="InvalidOperationException">The settings are not usable (<see cref="UpstreamOptions.Validate"/>).</exception>
    /// <exception cref="CredentialFileException">A certificate, key or trust file cannot be read, or the key does not fit.</exception>
    public async Task<HttpClient> GetHttpClientAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_client is null)
            {
                SocketsHttpHandler handler = await CreateHandlerAsync(Options, cancellationToken);

                // Each proxy cancels its own request at UpstreamOptions.Timeout; this is only the backstop.
                _client = new HttpClient(handler, disposeHandler: true) { Timeout = Options.Timeout + TimeSpan.FromSeconds(5) };
            }

            return _client;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The pooled handler for <paramref name="options"/>, with its TLS client credential and trust loaded.</summary>
    /// <exception cref="InvalidOperationException">The settings are not usable (<see cref="UpstreamOptions.Validate"/>).</exception>
    /// <exception cref="CredentialFileException">A certificate, key or trust file cannot be read, or the key does not fit.</exception>
    public static async Task<SocketsHttpHandler> CreateHandlerAsync(UpstreamOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = options.Timeout,
            MaxConnectionsPerServer = options.MaxConcurrent,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        };

        if (options.CertificateFile is { Length: > 0 } certificateFile && options.KeyFile is { Length: > 0 } keyFile)
        {
            (X509Certificate2 certificate, IReadOnlyList<X509Certificate2> chain) =
                await PemCredentialFiles.LoadCertificateWithKeyAsync(certificateFile, keyFile, null, cancellationToken);
            handler.SslOptions.ClientCertificateContext = SslStreamCertificateContext.Create(certificate, [.. chain], offline: true);
        }

        if (options.TrustFile is { Length: > 0 } trustFile)
        {
            IReadOnlyList<X509Certificate2> anchors = await PemCredentialFiles.LoadCertificatesAsync(trustFile, cancellationToken);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                ChainsToAnchors(certificate, chain, errors, anchors);
        }

        return handler;
    }

    public void Dispose()
    {
        _client?.Dispose();
        _gate.Dispose();
    }

    /// <summary>The server certificate's chain built again with <paramref name="anchors"/> as the only roots; the name must match.</summary>
    private static bool ChainsToAnchors(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, IReadOnlyList<X509Certificate2> anchors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors.ToArray());
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")); // id-kp-serverAuth
        if (presented is not null)
        {
            // The intermediates the server sent.
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (X509ChainElement element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        try
        {
            return chain.Build(leaf);
        }
        finally
        {
            if (!ReferenceEquals(leaf, certificate))
            {
                leaf.Dispose();
            }
        }
    }
}
