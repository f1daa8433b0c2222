using System.Net;

namespace CoapEnroll.Hosting;

/// <summary>
/// The <c>Http</c> configuration section: where <see cref="HttpServerService"/> listens for http:// (plain HTTP/1.1, the
/// transport of CMP over HTTP, RFC 6712), and the Kestrel limits both it and the https:// listener (<see cref="HttpsServerService"/>)
/// apply to every request.
/// </summary>
public sealed class HttpListenOptions
{
    public const string SectionName = "Http";

    /// <summary>The default <see cref="MaxRequestBodySize"/>: 64 KiB, ample for a PKIMessage.</summary>
    public const long DefaultMaxRequestBodySize = 64 * 1024;

    /// <summary>Whether http:// is served at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The address to bind; <c>::</c> is dual-stack and falls back to 0.0.0.0 without IPv6 (as <c>Coap:Bind</c>).</summary>
    public string Bind { get; set; } = "::";

    /// <summary>The TCP port for http://; 0 picks a free one.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>The largest request body in bytes; a larger one is answered 413 (Kestrel's MaxRequestBodySize).</summary>
    public long MaxRequestBodySize { get; set; } = DefaultMaxRequestBodySize;

    /// <summary>The largest total size of a request's headers in bytes (Kestrel's MaxRequestHeadersTotalSize); 16 KiB by default.</summary>
    public int MaxRequestHeadersTotalSize { get; set; } = 16 * 1024;

    /// <summary>How long a client may take to send the request headers, in seconds (Kestrel's RequestHeadersTimeout); 10 by default.</summary>
    public int RequestHeadersTimeoutSeconds { get; set; } = 10;

    /// <summary>The most connections open at once (Kestrel's MaxConcurrentConnections); 1000 by default.</summary>
    public long MaxConcurrentConnections { get; set; } = 1000;

    /// <summary>
    /// The most connections one peer (remote IP address) may have open at once on each listener, beyond which a new one is closed at
    /// once; 32 by default. Peers behind one NAT share it.
    /// </summary>
    public int MaxConnectionsPerPeer { get; set; } = 32;

    /// <summary>The problem with the settings, or null when they are usable (also when <see cref="Enabled"/> is false).</summary>
    public string? Validate()
    {
        if (!Enabled)
        {
            return null;
        }

        if (!IPAddress.TryParse(Bind, out _))
        {
            return $"Http:Bind '{Bind}' is not an IP address (use :: for all IPv6 and IPv4 addresses, 0.0.0.0 for IPv4 only).";
        }

        if (Port is < 0 or > 65535)
        {
            return $"Http:Port {Port} is not a TCP port (0..65535).";
        }

        return ValidateLimits();
    }

    /// <summary>The problem with the limits, which the HTTPS listener applies too (also when http:// is disabled); null when usable.</summary>
    public string? ValidateLimits()
    {
        if (MaxRequestBodySize <= 0)
        {
            return $"Http:MaxRequestBodySize {MaxRequestBodySize} must be a positive number of bytes.";
        }

        if (MaxRequestHeadersTotalSize <= 0)
        {
            return $"Http:MaxRequestHeadersTotalSize {MaxRequestHeadersTotalSize} must be a positive number of bytes.";
        }

        if (RequestHeadersTimeoutSeconds <= 0)
        {
            return $"Http:RequestHeadersTimeoutSeconds {RequestHeadersTimeoutSeconds} must be a positive number of seconds.";
        }

        if (MaxConnectionsPerPeer <= 0)
        {
            return $"Http:MaxConnectionsPerPeer {MaxConnectionsPerPeer} must be positive.";
        }

        return MaxConcurrentConnections <= 0 ? $"Http:MaxConcurrentConnections {MaxConcurrentConnections} must be positive." : null;
    }
}
