using System.Net;

namespace CoapEnroll.Hosting;

/// <summary>
/// The <c>Coap</c> configuration section: where <see cref="CoapServerService"/> listens for coap:// (and on which address
/// coaps:// listens, see <see cref="DtlsListenOptions"/>), and whether it serves the <see cref="DiagnosticResources"/>.
/// </summary>
public sealed class CoapListenOptions
{
    public const string SectionName = "Coap";

    /// <summary>The address to bind; <c>::</c> is dual-stack and falls back to 0.0.0.0 without IPv6.</summary>
    public string Bind { get; set; } = "::";

    /// <summary>The UDP port for coap://; 0 picks a free one.</summary>
    public int Port { get; set; } = 5683;

    /// <summary>Whether <see cref="DiagnosticResources"/> (/test, /large, /obs) are served.</summary>
    public bool DiagnosticResources { get; set; } = true;

    /// <summary>
    /// Whether the resources of the ETSI/F-Interop CoAP plugtest test descriptions are served (off by default: some of them are
    /// writable by anyone, which a production server must not offer). See <see cref="PlugtestBlockResources"/>,
    /// <see cref="PlugtestObserveResources"/> and <see cref="PlugtestLinkResources"/>.
    /// </summary>
    public bool PlugtestResources { get; set; }

    /// <summary>How often the plugtest's observable resources (<c>/obs</c>, <c>/obs-non</c>, <c>/obs-large</c>) change, in seconds.</summary>
    public double PlugtestObserveIntervalSeconds { get; set; } = 5;

    /// <summary>The problem with the settings, or null when they are usable.</summary>
    public string? Validate()
    {
        if (!IPAddress.TryParse(Bind, out _))
        {
            return $"Coap:Bind '{Bind}' is not an IP address (use :: for all IPv6 and IPv4 addresses, 0.0.0.0 for IPv4 only).";
        }

        if (!(PlugtestObserveIntervalSeconds is >= 0.1 and <= 86400))
        {
            return $"Coap:PlugtestObserveIntervalSeconds {PlugtestObserveIntervalSeconds} is not 0.1 to 86400 seconds.";
        }

        return Port is < 0 or > 65535 ? $"Coap:Port {Port} is not a UDP port (0..65535)." : null;
    }
}
