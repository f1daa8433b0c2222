using System.Globalization;

namespace CoapEnroll.Bench;

/// <summary>
/// Per-socket UDP facts from /proc/net/udp (Linux): datagrams the kernel dropped because the socket's receive buffer was full, and
/// which process holds the socket.
/// </summary>
internal static class UdpSocketStats
{
    /// <summary>The <c>drops</c> column summed over the IPv4 and IPv6 UDP sockets bound to local <paramref name="port"/>.</summary>
    public static long Drops(int port) => SocketsOn(port).Sum(s => s.Drops);

    /// <summary>
    /// Whether process <paramref name="pid"/> holds a UDP socket bound to local <paramref name="port"/> (one of its descriptors is
    /// that socket's inode): an answer on a port proves nothing when another program may have bound it first.
    /// </summary>
    public static bool IsBoundBy(int pid, int port)
    {
        var inodes = SocketsOn(port).Select(s => $"socket:[{s.Inode}]").ToHashSet(StringComparer.Ordinal);
        if (inodes.Count == 0)
        {
            return false;
        }

        string[] descriptors;
        try
        {
            descriptors = Directory.GetFileSystemEntries($"/proc/{pid}/fd");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // the process ended, or its descriptors are not ours to read
        }

        foreach (string descriptor in descriptors)
        {
            try
            {
                if (new FileInfo(descriptor).LinkTarget is { } target && inodes.Contains(target))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // Closed since the listing.
            }
        }

        return false;
    }

    /// <summary>The IPv4 and IPv6 UDP sockets bound to local <paramref name="port"/>: inode and drops.</summary>
    private static List<(string Inode, long Drops)> SocketsOn(int port)
    {
        var sockets = new List<(string, long)>();
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
                    sockets.Add((fields[9], long.Parse(fields[^1], CultureInfo.InvariantCulture)));
                }
            }
        }

        return sockets;
    }
}
