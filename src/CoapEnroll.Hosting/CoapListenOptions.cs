using System.Net;
using CoapEnroll.Transport;

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

    /// <summary>
    /// Whether coap:// (plain UDP) is served at all (<c>--coap-port off</c> sets this to false); coaps:// has its own switch,
    /// <see cref="DtlsListenOptions.Enabled"/>.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The UDP port for coap://; 0 picks a free one.</summary>
    public int Port { get; set; } = 5683;

    /// <summary>
    /// How often the observable resources of the plugtest (<see cref="PlugtestObserveResources"/>: <c>/obs</c>, <c>/obs-non</c>,
    /// <c>/obs-large</c>) change, in seconds; used with <see cref="PlugtestResources"/>.
    /// </summary>
    public double PlugtestObserveIntervalSeconds { get; set; } = 5;

    /// <summary>Whether <see cref="DiagnosticResources"/> (/test, /large, /obs) are served.</summary>
    public bool DiagnosticResources { get; set; } = true;

    /// <summary>
    /// Whether <see cref="PlugtestResources"/> (the resources of the CoAP plugtest core, block-wise, observe and link-format test descriptions) are served; off by
    /// default, and only together with <see cref="DiagnosticResources"/>, whose <c>/test</c> they extend.
    /// </summary>
    public bool PlugtestResources { get; set; }

    /// <summary>
    /// How the coap:// and coaps:// sockets are read: <c>Dedicated</c> (the default), a receive thread per socket that handles each
    /// datagram on that thread up to the handler's first asynchronous wait (<see cref="DedicatedUdpDatagramChannel"/>), or
    /// <c>Async</c>, the runtime's asynchronous sockets on the thread pool (<see cref="UdpDatagramChannel"/>), which cost more CPU
    /// per datagram.
    /// </summary>
    public string ReceiveMode { get; set; } = DedicatedReceiveMode;

    /// <summary>The <see cref="ReceiveMode"/> with a receive thread per socket.</summary>
    public const string DedicatedReceiveMode = "Dedicated";

    /// <summary>The <see cref="ReceiveMode"/> on the runtime's asynchronous sockets.</summary>
    public const string AsyncReceiveMode = "Async";

    /// <summary>True when <see cref="ReceiveMode"/> asks for the asynchronous sockets.</summary>
    internal bool UsesAsyncReceive => string.Equals(ReceiveMode, AsyncReceiveMode, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The receive buffer asked for each coap:// and coaps:// socket (SO_RCVBUF), 4 MiB by default; 0 keeps the system's default
    /// (<c>net.core.rmem_default</c>, 208 KiB on Linux). Datagrams that arrive while it is full are dropped by the kernel and cost the
    /// peer a retransmission timeout. Linux grants at most <c>net.core.rmem_max</c> (doubled): 416 KiB on a stock system, so raise that
    /// sysctl for more; serve logs what it got.
    /// </summary>
    public int SocketReceiveBufferBytes { get; set; } = DefaultSocketReceiveBufferBytes;

    /// <summary>The default of <see cref="SocketReceiveBufferBytes"/>.</summary>
    public const int DefaultSocketReceiveBufferBytes = 4 * 1024 * 1024;

    /// <summary>Binds a UDP socket for coap:// or coaps:// as <see cref="ReceiveMode"/> says.</summary>
    internal IDatagramChannel BindUdp(IPEndPoint local, int maxDatagramSize) => UsesAsyncReceive
        ? UdpDatagramChannel.Bind(local, maxDatagramSize, SocketReceiveBufferBytes)
        : DedicatedUdpDatagramChannel.Bind(local, maxDatagramSize, SocketReceiveBufferBytes);

    /// <summary>The receive buffer the system granted <paramref name="channel"/>'s socket, or null when it is not a UDP socket.</summary>
    internal static int? GrantedReceiveBuffer(IDatagramChannel channel) => channel switch
    {
        DedicatedUdpDatagramChannel dedicated => dedicated.SocketReceiveBufferBytes,
        UdpDatagramChannel udp => udp.SocketReceiveBufferBytes,
        _ => null,
    };

    /// <summary>The problem with the settings, or null when they are usable.</summary>
    public string? Validate()
    {
        if (!(PlugtestObserveIntervalSeconds is >= 0.1 and <= 86400))
        {
            return $"Coap:PlugtestObserveIntervalSeconds {PlugtestObserveIntervalSeconds} is not 0.1 to 86400 seconds.";
        }

        if (!IPAddress.TryParse(Bind, out _))
        {
            return $"Coap:Bind '{Bind}' is not an IP address (use :: for all IPv6 and IPv4 addresses, 0.0.0.0 for IPv4 only).";
        }

        if (PlugtestResources && !DiagnosticResources)
        {
            return "Coap:PlugtestResources=true needs Coap:DiagnosticResources=true (the plugtest resources extend /test).";
        }

        if (SocketReceiveBufferBytes != 0 && SocketReceiveBufferBytes is < 4096 or > 1024 * 1024 * 1024)
        {
            return $"Coap:SocketReceiveBufferBytes {SocketReceiveBufferBytes} is not 0 (the system's default) or 4096 to 1073741824.";
        }

        if (!UsesAsyncReceive && !string.Equals(ReceiveMode, DedicatedReceiveMode, StringComparison.OrdinalIgnoreCase))
        {
            return $"Coap:ReceiveMode '{ReceiveMode}' is not one of {DedicatedReceiveMode}, {AsyncReceiveMode}.";
        }

        return Port is < 0 or > 65535 ? $"Coap:Port {Port} is not a UDP port (0..65535; disable coap with Coap:Enabled=false or --coap-port off)." : null;
    }
}
