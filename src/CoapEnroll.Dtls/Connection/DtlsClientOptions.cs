using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Dtls;

/// <summary>Client settings: server authentication, optional client credentials, PSK.</summary>
public sealed class DtlsClientOptions : DtlsOptions
{
    /// <summary>
    /// The name or IP address the server certificate must carry (SAN dNSName / iPAddress, RFC 6125); sent as
    /// server_name (RFC 6066) when it is a DNS name. Null: the server's IP address is expected.
    /// </summary>
    public string? ServerName { get; set; }

    /// <summary>Trust anchors for the server chain (X509Chain custom root trust; the system store is never used).</summary>
    public X509Certificate2Collection ServerCertificateTrustAnchors { get; } = [];

    /// <summary>
    /// Untrusted CA certificates that only help build the server chain, for servers that send their leaf without the issuing CA.
    /// Never trust anchors: the chain must still end at one of <see cref="ServerCertificateTrustAnchors"/>.
    /// </summary>
    public X509Certificate2Collection ServerCertificateIntermediates { get; } = [];

    /// <summary>
    /// Server certificate chains whose validation is remembered, so that connecting again to a server that sends the same chain
    /// skips decoding it and building its path again (16 by default; 0 builds every chain). A decision is reused only without
    /// revocation checking, while the time is within the validity of every certificate of the path, under the same trust anchors
    /// and intermediates, and for 5 minutes at most. The server name is checked on every handshake.
    /// </summary>
    public int ServerChainCacheSize { get; set; } = 16;

    /// <summary>The server chains validated by clients that use these options.</summary>
    internal PeerChainCache ServerChains { get; } = new();

    /// <summary>Client certificate with its ECDSA private key, sent when the server asks; null sends an empty Certificate.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>Intermediates sent after <see cref="ClientCertificate"/>.</summary>
    public X509Certificate2Collection ClientCertificateChain { get; } = [];

    /// <summary>PSK identity (RFC 4279); with <see cref="PskKey"/> enables TLS_PSK_WITH_AES_128_CCM_8.</summary>
    public byte[]? PskIdentity { get; set; }

    public byte[]? PskKey { get; set; }

    internal bool HasPsk => PskIdentity is not null && PskKey is { Length: > 0 };

    /// <summary>
    /// Test-only: false leaves extended_master_secret out of the ClientHello, so that tests can play a legacy client against a
    /// server (needs <see cref="DtlsOptions.ExtendedMasterSecret"/> = Optional). Products always offer it (RFC 7627 §5.2).
    /// </summary>
    internal bool OfferExtendedMasterSecret { get; set; } = true;

    internal override void Validate()
    {
        base.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(ServerChainCacheSize, nameof(ServerChainCacheSize));
        if (ClientCertificate is not null && (!ClientCertificate.HasPrivateKey || ClientCertificate.GetECDsaPublicKey() is null))
        {
            throw new ArgumentException("The client certificate needs an ECDSA private key.", nameof(ClientCertificate));
        }

        if (!OfferExtendedMasterSecret && ExtendedMasterSecret == ExtendedMasterSecretPolicy.Required)
        {
            throw new ArgumentException("A client that does not offer extended_master_secret cannot require it.", nameof(ExtendedMasterSecret));
        }
    }
}
