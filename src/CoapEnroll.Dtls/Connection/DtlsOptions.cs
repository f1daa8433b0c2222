using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Dtls;

/// <summary>
/// Settings shared by both roles: record sizing, retransmission (RFC 6347 §4.2.4), connection IDs
/// (RFC 9146), the extended master secret policy (RFC 7627), the key log and the clock. Options are read when a channel is created; do not change
/// them afterwards.
/// </summary>
public abstract class DtlsOptions
{
    /// <summary>RFC 7252 §4.6: 1152 bytes of UDP payload fit the IPv6 minimum MTU with headroom.</summary>
    public const int DefaultPathMtu = 1152;

    /// <summary>Smallest accepted <see cref="PathMtu"/>; 6LoWPAN-like links need about 256.</summary>
    public const int MinPathMtu = 128;

    /// <summary>Largest UDP payload this endpoint sends (every datagram of every flight fits in it).</summary>
    public int PathMtu { get; set; } = DefaultPathMtu;

    /// <summary>Offer (client) / accept (server) the connection_id extension (RFC 9146 §3).</summary>
    public bool EnableConnectionId { get; set; } = true;

    /// <summary>
    /// Length of the connection IDs we choose for the peer to put in its records; 0 asks the peer for no CID
    /// (while we still use the peer's CID when it asks for one, RFC 9146 §3).
    /// </summary>
    public int ConnectionIdLength { get; set; } = 6;

    /// <summary>First retransmission timeout (RFC 6347 §4.2.4.1 recommends 1 s).</summary>
    public TimeSpan InitialRetransmissionTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of one doubled timeout (RFC 6347 §4.2.4.1: at least 60 s).</summary>
    public TimeSpan MaxRetransmissionTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Retransmissions of one flight before the handshake is abandoned.</summary>
    public int MaxRetransmissions { get; set; } = 6;

    /// <summary>Cipher suites in order of preference. Suites without the needed credentials are skipped.</summary>
    public IList<CipherSuite> CipherSuites { get; set; } =
    [
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM,
        CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
    ];

    /// <summary>
    /// Whether the peer must negotiate the extended master secret (RFC 7627). <see cref="ExtendedMasterSecretPolicy.Required"/>
    /// (the default) aborts with handshake_failure otherwise; <see cref="ExtendedMasterSecretPolicy.Optional"/> admits legacy
    /// peers with the RFC 5246 master secret. A client always offers the extension; a server echoes it when offered.
    /// </summary>
    public ExtendedMasterSecretPolicy ExtendedMasterSecret { get; set; } = ExtendedMasterSecretPolicy.Required;

    /// <summary>Revocation checking for peer certificate chains; none by default (constrained deployments).</summary>
    public X509RevocationMode RevocationMode { get; set; } = X509RevocationMode.NoCheck;

    /// <summary>
    /// Appends NSS key log lines (<c>CLIENT_RANDOM cr ms</c>) to this file. Exposes every session: debugging only.
    /// </summary>
    public string? KeyLogFile { get; set; }

    /// <summary>When set and <see cref="KeyLogFile"/> is null, the SSLKEYLOGFILE environment variable names the key log.</summary>
    public bool UseSslKeyLogFileEnvironment { get; set; }

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    public ILoggerFactory? LoggerFactory { get; set; }

    internal string? ResolveKeyLogFile()
    {
        if (!string.IsNullOrEmpty(KeyLogFile))
        {
            return KeyLogFile;
        }

        return UseSslKeyLogFileEnvironment && Environment.GetEnvironmentVariable("SSLKEYLOGFILE") is { Length: > 0 } path ? path : null;
    }

    internal virtual void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(PathMtu, MinPathMtu, nameof(PathMtu));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(PathMtu, ushort.MaxValue, nameof(PathMtu));
        ArgumentOutOfRangeException.ThrowIfNegative(ConnectionIdLength, nameof(ConnectionIdLength));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ConnectionIdLength, 32, nameof(ConnectionIdLength));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(InitialRetransmissionTimeout, TimeSpan.Zero, nameof(InitialRetransmissionTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetransmissionTimeout, InitialRetransmissionTimeout, nameof(MaxRetransmissionTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRetransmissions, nameof(MaxRetransmissions));
        ArgumentNullException.ThrowIfNull(CipherSuites);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (!Enum.IsDefined(ExtendedMasterSecret))
        {
            throw new ArgumentOutOfRangeException(nameof(ExtendedMasterSecret), ExtendedMasterSecret, "Not an ExtendedMasterSecretPolicy.");
        }

        foreach (CipherSuite suite in CipherSuites)
        {
            if (!CipherSuiteInfo.TryGet(suite, out _))
            {
                throw new ArgumentException($"Unsupported cipher suite {suite}.", nameof(CipherSuites));
            }
        }
    }
}
