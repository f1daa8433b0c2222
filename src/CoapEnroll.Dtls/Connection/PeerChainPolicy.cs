using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Dtls;

/// <summary>
/// What a <see cref="PeerChainCache"/> decision depends on, taken from the options of the side that validates the peer's chain:
/// the server's settings for client chains, the client's for the server's chain.
/// </summary>
internal readonly record struct PeerChainPolicy(int Capacity, X509RevocationMode RevocationMode, X509Certificate2Collection TrustAnchors,
    X509Certificate2Collection Intermediates, TimeProvider TimeProvider)
{
    public static PeerChainPolicy Of(DtlsServerOptions options) => new(options.ClientChainCacheSize, options.RevocationMode,
        options.ClientCertificateTrustAnchors, options.ClientCertificateIntermediates, options.TimeProvider);

    public static PeerChainPolicy Of(DtlsClientOptions options) => new(options.ServerChainCacheSize, options.RevocationMode,
        options.ServerCertificateTrustAnchors, options.ServerCertificateIntermediates, options.TimeProvider);
}
