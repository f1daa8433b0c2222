using CoapEnroll.Dtls;

namespace CoapEnroll.Hosting;

/// <summary>
/// The <c>Dtls</c> configuration section: the coaps:// listener (RFC 7252 §9, DTLS 1.2 with the RFC 7925
/// profile). It binds the same address as <c>Coap:Bind</c> and serves the same resources.
/// </summary>
public sealed class DtlsListenOptions
{
    public const string SectionName = "Dtls";

    // The server's CIDs are 6 bytes (DtlsOptions.ConnectionIdLength) and keep at least 4 random.
    private const int MaxConnectionIdPrefix = 2;

    /// <summary>Whether coaps:// is served at all (<c>--coaps-port off</c> sets this to false).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The UDP port for coaps://; 0 picks a free one, as <c>Coap:Port</c> does.</summary>
    public int Port { get; set; } = 5684;

    /// <summary>The server certificate (PEM, leaf first, then intermediates). Unset: DIR/server.pem from the CA bootstrap.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The private key (PEM PKCS#8 or SEC1) of <see cref="CertificateFile"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// More PEM files of CAs whose client certificates are validated, in addition to the CA's trust anchor and
    /// the trusted manufacturer CAs.
    /// </summary>
    public List<string>? ClientTrustAnchorFiles { get; set; }

    /// <summary>
    /// Obsolete for serve: EST-coaps always admits client certificates that do not chain to a trust anchor (the session is
    /// then not authenticated) so that it can answer 4.03 with a reason instead of failing the handshake.
    /// </summary>
    public bool AllowUnvalidatedClientCertificates { get; set; }

    /// <summary>
    /// Fail the handshake (bad_certificate alert) when a client certificate chains to no trust anchor, instead of admitting
    /// the session unauthenticated so that EST can answer 4.03 with a reason. Costs such a peer no CoAP or EST work, but
    /// the device learns only that the handshake failed. Off by default.
    /// </summary>
    public bool RejectUntrustedClientCertificates { get; set; }

    /// <summary>
    /// <c>Required</c> (default): a client without RFC 7627's extended_master_secret fails the handshake with handshake_failure.
    /// <c>Optional</c>: such legacy clients are admitted (logged and counted); their sessions have no usable tls-unique, so EST
    /// refuses proof-of-possession linking over them. Text rather than the enum, so that a bad value gets a message naming the
    /// accepted ones (see <see cref="ExtendedMasterSecretPolicy"/>).
    /// </summary>
    public string ExtendedMasterSecret { get; set; } = nameof(ExtendedMasterSecretPolicy.Required);

    /// <summary><see cref="ExtendedMasterSecret"/> parsed (names only, case-insensitive); null when it is not one of them.</summary>
    public ExtendedMasterSecretPolicy? ParseExtendedMasterSecret() =>
        Enum.GetNames<ExtendedMasterSecretPolicy>().FirstOrDefault(name => string.Equals(name, ExtendedMasterSecret?.Trim(), StringComparison.OrdinalIgnoreCase)) is { } match
            ? Enum.Parse<ExtendedMasterSecretPolicy>(match)
            : null;

    /// <summary>PSK identity → key in hex (<c>Dtls:Psk:device-7=00112233…</c>): enables TLS_PSK_WITH_AES_128_CCM_8 (RFC 7925 §4.2).</summary>
    public Dictionary<string, string>? Psk { get; set; }

    /// <summary>
    /// More PSK identities as a list (<c>Dtls:PskIdentities:0:Identity=urn:dev:7</c>, <c>Dtls:PskIdentities:0:Key=0011…</c>), for
    /// identities that cannot be configuration keys: with a <c>:</c>, or differing from another only in case.
    /// </summary>
    public List<PskIdentityOptions>? PskIdentities { get; set; }

    /// <summary>Every configured PSK, identity (ordinal) → key; call after <see cref="Validate"/> succeeded.</summary>
    public Dictionary<string, byte[]> PskKeys()
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (identity, hex) in Psk ?? [])
        {
            keys[identity] = TryParseHexKey(hex)!;
        }

        foreach (PskIdentityOptions entry in PskIdentities ?? [])
        {
            keys[entry.Identity!] = TryParseHexKey(entry.Key)!;
        }

        return keys;
    }

    /// <summary>Connections in the table, handshaking and established; a cookie-verified ClientHello beyond it is dropped.</summary>
    public int MaxConnections { get; set; } = new DtlsServerOptions().MaxConnections;

    /// <summary>Handshakes in progress over all peers; a cookie-verified ClientHello beyond it is dropped (the client retries).</summary>
    public int MaxHandshakes { get; set; } = new DtlsServerOptions().MaxHandshakes;

    /// <summary>Handshakes in progress from one source address (an IPv4 address or an IPv6 /64, over all its ports).</summary>
    public int MaxHandshakesPerAddress { get; set; } = new DtlsServerOptions().MaxHandshakesPerAddress;

    /// <summary>Connections, handshaking and established, of one source address (an IPv4 address or an IPv6 /64, over all its ports).</summary>
    public int MaxConnectionsPerAddress { get; set; } = new DtlsServerOptions().MaxConnectionsPerAddress;

    /// <summary>
    /// This node's first bytes of the DTLS connection IDs it chooses, in hex (e.g. <c>01</c>; at most 2 bytes of the 6-byte CID):
    /// distinct per node, so that a balancer can route CID records by them. Unset: CIDs wholly random.
    /// </summary>
    public string? ConnectionIdPrefix { get; set; }

    /// <summary>The prefix as bytes; call after <see cref="Validate"/> succeeded.</summary>
    public byte[] ConnectionIdPrefixBytes() => ConnectionIdPrefix is { Length: > 0 } ? TryParseHexKey(ConnectionIdPrefix)! : [];

    /// <summary>Appends the session keys in NSS key log format to this file, so that tshark can decrypt captures. Debugging only.</summary>
    public string? KeyLogFile { get; set; }

    /// <summary>When <see cref="KeyLogFile"/> is unset, use the file named by the SSLKEYLOGFILE environment variable (opt-in).</summary>
    public bool UseSslKeyLogFile { get; set; }

    /// <summary>The problem with the settings, or null when they are usable.</summary>
    public string? Validate()
    {
        if (Port is < 0 or > 65535)
        {
            return $"Dtls:Port {Port} is not a UDP port (0..65535; disable coaps with Dtls:Enabled=false or --coaps-port off).";
        }

        foreach ((string name, int value) in new[] { (nameof(MaxConnections), MaxConnections), (nameof(MaxHandshakes), MaxHandshakes),
            (nameof(MaxHandshakesPerAddress), MaxHandshakesPerAddress), (nameof(MaxConnectionsPerAddress), MaxConnectionsPerAddress) })
        {
            if (value < 1)
            {
                return $"Dtls:{name} {value} must be at least 1.";
            }
        }

        if (ConnectionIdPrefix is { Length: > 0 } prefix && TryParseHexKey(prefix) is not { Length: <= MaxConnectionIdPrefix })
        {
            return $"Dtls:ConnectionIdPrefix '{prefix}' is not 1 to {MaxConnectionIdPrefix} bytes in hex (e.g. 01).";
        }

        if ((CertificateFile is null) != (KeyFile is null))
        {
            return "Dtls:CertificateFile and Dtls:KeyFile go together: set both or neither.";
        }

        if (ParseExtendedMasterSecret() is null)
        {
            return $"Dtls:ExtendedMasterSecret '{ExtendedMasterSecret}' is not one of {string.Join(", ", Enum.GetNames<ExtendedMasterSecretPolicy>())}.";
        }

        var identities = new HashSet<string>((IEnumerable<string>?)Psk?.Keys ?? [], StringComparer.Ordinal);
        foreach (var (identity, hex) in Psk ?? [])
        {
            if (TryParseHexKey(hex) is null)
            {
                return $"Dtls:Psk:{identity} is not a key in hex (an even number of 0-9a-f digits, at least 1 byte, optionally 0x-prefixed).";
            }
        }

        for (int i = 0; i < (PskIdentities?.Count ?? 0); i++)
        {
            PskIdentityOptions entry = PskIdentities![i];
            if (string.IsNullOrEmpty(entry.Identity) || System.Text.Encoding.UTF8.GetByteCount(entry.Identity) > ushort.MaxValue)
            {
                return $"Dtls:PskIdentities:{i}:Identity is missing or longer than 65535 bytes (RFC 4279 §5.1).";
            }

            if (TryParseHexKey(entry.Key) is null)
            {
                return $"Dtls:PskIdentities:{i}:Key is not a key in hex (an even number of 0-9a-f digits, at least 1 byte, optionally 0x-prefixed).";
            }

            if (!identities.Add(entry.Identity))
            {
                return $"Dtls:PskIdentities:{i}:Identity '{entry.Identity}' is configured twice.";
            }
        }

        return null;
    }

    /// <summary>Decodes a PSK written in hex (optionally with a 0x prefix, colons or spaces between bytes); null when it is not.</summary>
    public static byte[]? TryParseHexKey(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        string digits = text.Trim();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[2..];
        }

        digits = digits.Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal);
        if (digits.Length == 0 || digits.Length % 2 != 0 || digits.Length > 2 * 256 || !digits.All(char.IsAsciiHexDigit))
        {
            return null;
        }

        return Convert.FromHexString(digits);
    }
}
