using System.Net;

namespace CoapEnroll.Cli.Serve;

/// <summary>
/// The <c>Coap</c> configuration section (appsettings.json, <c>COAPENROLL_Coap__Port</c>,
/// <c>--Coap:Port=…</c>, or the <c>serve</c> options that map onto it).
/// </summary>
internal sealed class CoapListenOptions
{
    public const string SectionName = "Coap";

    /// <summary>The address to bind; <c>::</c> is dual-stack and falls back to 0.0.0.0 without IPv6.</summary>
    public string Bind { get; set; } = "::";

    /// <summary>The UDP port for coap://; 0 picks a free one.</summary>
    public int Port { get; set; } = 5683;

    /// <summary>Whether <see cref="DiagnosticResources"/> (/test, /large, /obs) are served.</summary>
    public bool DiagnosticResources { get; set; } = true;

    /// <summary>The problem with the settings, or null when they are usable.</summary>
    public string? Validate()
    {
        if (!IPAddress.TryParse(Bind, out _))
        {
            return $"Coap:Bind '{Bind}' is not an IP address (use :: for all IPv6 and IPv4 addresses, 0.0.0.0 for IPv4 only).";
        }

        return Port is < 0 or > 65535 ? $"Coap:Port {Port} is not a UDP port (0..65535)." : null;
    }
}

/// <summary>Configuration keys outside the <c>Coap</c> section.</summary>
internal static class ServeConfigurationKeys
{
    /// <summary>Where the server keeps its state; relative paths are taken from the working directory.</summary>
    public const string DataDirectory = "DataDirectory";

    public const string DefaultDataDirectory = "data";

    /// <summary>The prefix of environment variables read as configuration (<c>COAPENROLL_Coap__Port=5683</c>).</summary>
    public const string EnvironmentPrefix = "COAPENROLL_";
}
