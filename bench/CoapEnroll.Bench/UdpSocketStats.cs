using System.Globalization;

namespace CoapEnroll.Bench;

/// <summary>Per-socket UDP counters from /proc/net/udp (Linux): datagrams the kernel dropped because the socket's receive buffer was full.</summary>
internal static class UdpSocketStats
{
    /// <summary>The <c>drops</c> column summed over the IPv4 and IPv6 UDP sockets bound to local <paramref name="port"/>.</summary>
    public static long Drops(int port)
    {
        long drops = 0;
        foreach (string file in new[] { "/proc/net/udp", "/proc/net/udp6" })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            foreach (string line in File.ReadLines(file).Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 13)
                {
                    continue;
                }

                string local = fields[1];
                int colon = local.LastIndexOf(':');
                if (colon > 0 && int.Parse(local.AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port)
                {
                    drops += long.Parse(fields[^1], CultureInfo.InvariantCulture);
                }
            }
        }

        return drops;
    }
}
