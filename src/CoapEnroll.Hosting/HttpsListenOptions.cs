using System.Net;

namespace CoapEnroll.Hosting;

/// <summary>
/// The <c>Https</c> configuration section: where <see cref="HttpsServerService"/> listens for https:// (HTTP/1.1 over TLS 1.2 or
/// 1.3 with the server credential, the transport of EST over HTTPS, RFC 7030, and of CMP over HTTPS). The Kestrel limits per
/// request and connection are the <c>Http</c> section's (<see cref="HttpListenOptions"/>), shared by both listeners.
/// </summary>
public sealed class HttpsListenOptions
{
    public const string SectionName = "Https";

    /// <summary>The default <see cref="Port"/>: 8443, the usual alternative HTTPS port (443 needs privileges).</summary>
    public const int DefaultPort = 8443;

    /// <summary>Whether https:// is served at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The address to bind; <c>::</c> is dual-stack and falls back to 0.0.0.0 without IPv6 (as <c>Http:Bind</c>).</summary>
    public string Bind { get; set; } = "::";

    /// <summary>The TCP port for https://; 0 picks a free one.</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>How long a client may take to complete the TLS handshake, in seconds; 10 by default.</summary>
    public int HandshakeTimeoutSeconds { get; set; } = 10;

    /// <summary>The problem with the settings, or null when they are usable (also when <see cref="Enabled"/> is false).</summary>
    public string? Validate()
    {
        if (!Enabled)
        {
            return null;
        }

        if (!IPAddress.TryParse(Bind, out _))
        {
            return $"Https:Bind '{Bind}' is not an IP address (use :: for all IPv6 and IPv4 addresses, 0.0.0.0 for IPv4 only).";
        }

        if (Port is < 0 or > 65535)
        {
            return $"Https:Port {Port} is not a TCP port (0..65535).";
        }

        return HandshakeTimeoutSeconds <= 0 ? $"Https:HandshakeTimeoutSeconds {HandshakeTimeoutSeconds} must be a positive number of seconds." : null;
    }
}
