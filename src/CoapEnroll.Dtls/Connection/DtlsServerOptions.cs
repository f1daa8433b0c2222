using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Dtls;

/// <summary>Server settings: credentials, client authentication, PSK lookup and the connection table.</summary>
public sealed class DtlsServerOptions : DtlsOptions
{
    /// <summary>The server certificate with its ECDSA (P-256 or P-384) private key; enables the ECDHE_ECDSA suites.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>Intermediate certificates sent after <see cref="Certificate"/> (not the root).</summary>
    public X509Certificate2Collection CertificateChain { get; } = [];

    /// <summary>Trust anchors for client certificates (X509Chain custom root trust; the system store is never used).</summary>
    public X509Certificate2Collection ClientCertificateTrustAnchors { get; } = [];

    /// <summary>
    /// Untrusted CA certificates that only help build client chains, for clients that send their leaf without the issuing CA.
    /// Never trust anchors: a chain must still end at one of <see cref="ClientCertificateTrustAnchors"/>.
    /// </summary>
    public X509Certificate2Collection ClientCertificateIntermediates { get; } = [];

    /// <summary>
    /// Abort with handshake_failure when an ECDHE client sends an empty Certificate (RFC 5246 §7.4.6).
    /// Off by default: the client certificate is optional at the DTLS layer and the session is anonymous.
    /// </summary>
    public bool RequireClientCertificate { get; set; }

    /// <summary>
    /// Accept a client certificate whose chain does not validate (exposed with
    /// <see cref="DtlsSessionEndPoint.IsPeerCertificateValidated"/> = false). Off by default: bad_certificate.
    /// </summary>
    public bool AllowUnvalidatedClientCertificates { get; set; }

    /// <summary>
    /// PSK identity → key lookup (RFC 4279 §2); null result = unknown identity. Enables TLS_PSK_WITH_AES_128_CCM_8.
    /// </summary>
    public Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask<byte[]?>>? PskKeyLookup { get; set; }

    /// <summary>Optional psk_identity_hint; RFC 7925 §4.2 recommends none (no ServerKeyExchange then).</summary>
    public byte[]? PskIdentityHint { get; set; }

    /// <summary>
    /// Bound on the connection table (handshaking and established); new ClientHellos are dropped beyond it. An idle session costs
    /// under 1 KB of managed heap (about 1.9 KB resident), so the default of 100,000 is about 190 MB at most.
    /// </summary>
    public int MaxConnections { get; set; } = 100_000;

    /// <summary>
    /// Connections, handshaking and established, of one source address (an IPv4 address, or an IPv6 /64, over all its ports), so
    /// that one host cannot fill the connection table and lock other devices out until its sessions idle out. A cookie-verified
    /// ClientHello from an address at the bound is admitted when the address has an established session, and once its handshake
    /// completes the address's least recently active other session is closed (the address costs only itself; devices behind one
    /// NAT address that went silent make room for new ones); when all of them are still handshaking it is dropped. A session that moves to another address (RFC 9146 connection ID) counts there from then on,
    /// even past this bound.
    /// </summary>
    public int MaxConnectionsPerAddress { get; set; } = 1000;

    /// <summary>
    /// Connections in their handshake (admitted with a valid cookie, not yet established) over all peers. A cookie-verified
    /// ClientHello beyond it is dropped before any state is made; the client's retransmission gets in once a handshake ends.
    /// Each costs an ECDHE key pair and a signature, and is held until it completes or its retransmissions run out.
    /// </summary>
    public int MaxHandshakes { get; set; } = 1000;

    /// <summary>
    /// The same for one source address (an IPv4 address, or an IPv6 /64), over all its ports, so that one host cannot take
    /// the handshakes other peers need. A NAT gateway in front of many devices needs more.
    /// </summary>
    public int MaxHandshakesPerAddress { get; set; } = 64;

    /// <summary>A connection without an authenticated record for this long is evicted silently.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Client certificate chains whose validation is remembered, so that a device connecting again with the same chain skips
    /// decoding it and building its path again (1024 by default; 0 builds every chain). A decision is reused only without
    /// revocation checking, while the time is within the validity of every certificate of the path, and for 5 minutes at most.
    /// </summary>
    public int ClientChainCacheSize { get; set; } = 1024;

    /// <summary>The chains validated for servers that use these options.</summary>
    internal PeerChainCache ClientChains { get; } = new();

    /// <summary>
    /// The first bytes of every connection ID this server chooses (RFC 9146), the rest random: a node's own value, so that a
    /// balancer in front of several nodes can route a record with a CID (content type tls12_cid, whose CID starts at byte 11 of the
    /// record) to the node that holds its session, whatever address it comes from. Shorter than <see cref="DtlsOptions.ConnectionIdLength"/>
    /// by at least 4 bytes, so that a node still has 2^32 CIDs to choose from. Empty by default: CIDs wholly random.
    /// </summary>
    public byte[] ConnectionIdPrefix { get; set; } = [];

    /// <summary>Rotation of the HelloVerifyRequest cookie secret (RFC 6347 §4.2.1).</summary>
    public TimeSpan CookieSecretRotationInterval { get; set; } = TimeSpan.FromMinutes(2);

    internal override void Validate()
    {
        base.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1, nameof(MaxConnections));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHandshakes, 1, nameof(MaxHandshakes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHandshakesPerAddress, 1, nameof(MaxHandshakesPerAddress));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnectionsPerAddress, 1, nameof(MaxConnectionsPerAddress));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IdleTimeout, TimeSpan.Zero, nameof(IdleTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(ClientChainCacheSize, nameof(ClientChainCacheSize));
        ArgumentNullException.ThrowIfNull(ConnectionIdPrefix);
        if (ConnectionIdPrefix.Length > 0 && ConnectionIdPrefix.Length > ConnectionIdLength - 4)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectionIdPrefix), ConnectionIdPrefix.Length,
                $"a connection ID prefix leaves at least 4 random bytes of the {ConnectionIdLength}-byte connection ID");
        }
        if (Certificate is not null && (!Certificate.HasPrivateKey || Certificate.GetECDsaPublicKey() is null))
        {
            throw new ArgumentException("The server certificate needs an ECDSA private key.", nameof(Certificate));
        }

        if (Certificate is null && PskKeyLookup is null)
        {
            throw new ArgumentException("Configure a certificate, a PSK lookup, or both.");
        }
    }
}
