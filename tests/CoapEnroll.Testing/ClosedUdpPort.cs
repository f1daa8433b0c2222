using System.Net;
using System.Net.Sockets;

namespace CoapEnroll.Testing;

/// <summary>A loopback UDP port where nothing listens, for tests of "port unreachable".</summary>
public static class ClosedUdpPort
{
    /// <summary>
    /// A port below the kernel's ephemeral range that was free a moment ago (bound, then released). A port taken with
    /// bind(0) and released would return to the pool that every other test's bind(0) draws from, so another test's server
    /// or client socket could own it by the time the datagram arrives; below the range only an explicit bind can.
    /// </summary>
    public static int Pick()
    {
        int low = EphemeralRangeStart();
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            int port = Random.Shared.Next(Math.Max(1024, low - 12_000), low);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }

        throw new InvalidOperationException("no free UDP port below the ephemeral range");
    }

    private static int EphemeralRangeStart()
    {
        const string RangeFile = "/proc/sys/net/ipv4/ip_local_port_range";
        if (File.Exists(RangeFile)
            && int.TryParse(File.ReadAllText(RangeFile).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], out int start)
            && start > 2048)
        {
            return start;
        }

        return 49152; // RFC 6335's dynamic range, which Windows and macOS use.
    }
}
