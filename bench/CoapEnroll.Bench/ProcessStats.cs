using System.Diagnostics;
using System.Globalization;

namespace CoapEnroll.Bench;

/// <summary>CPU time and resident memory of a process, from /proc (Linux), for the console modes.</summary>
internal static class ProcessStats
{
    private static readonly long s_ticksPerSecond = 100; // USER_HZ on Linux

    /// <summary>User + system CPU time of <paramref name="pid"/> (all threads) from /proc/pid/stat.</summary>
    public static TimeSpan CpuTime(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((double)ticks / s_ticksPerSecond);
    }

    /// <summary>
    /// CPU time of <paramref name="pid"/> and of all its children, living and exited: its own utime + stime + cutime + cstime (the
    /// children it has waited for) plus utime + stime of each living child (from every /proc/N/stat whose parent is
    /// <paramref name="pid"/>). A server that forks a process per connection (PostgreSQL's postmaster) counts whole, also when a
    /// child exits between two readings. Grandchildren count only once their parent has waited for them.
    /// </summary>
    public static TimeSpan CpuTimeWithChildren(int pid)
    {
        string[] own = StatFields(File.ReadAllText($"/proc/{pid}/stat"));
        long ticks = Field(own, 11) + Field(own, 12) + Field(own, 13) + Field(own, 14);
        string parent = pid.ToString(CultureInfo.InvariantCulture);
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // exited meanwhile
            }

            string[] fields = StatFields(stat);
            if (fields[1] == parent)
            {
                ticks += Field(fields, 11) + Field(fields, 12);
            }
        }

        return TimeSpan.FromSeconds((double)ticks / s_ticksPerSecond);
    }

    // The fields after the parenthesised command name (which may hold spaces): state is [0], ppid [1], utime [11], stime [12],
    // cutime [13], cstime [14].
    private static string[] StatFields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

    private static long Field(string[] fields, int index) => long.Parse(fields[index], CultureInfo.InvariantCulture);

    /// <summary>VmRSS of <paramref name="pid"/> in bytes.</summary>
    public static long ResidentBytes(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public static int CurrentPid => Environment.ProcessId;

    /// <summary>Starts this bench program again with <paramref name="arguments"/> (works under dotnet run and dotnet exec).</summary>
    public static Process StartSelf(string arguments, bool redirectInput = true, IReadOnlyDictionary<string, string>? environment = null)
    {
        string host = Environment.ProcessPath!;
        string args = Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? $"\"{typeof(ProcessStats).Assembly.Location}\" {arguments}"
            : arguments;
        var info = new ProcessStartInfo(host, args)
        {
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("Could not start " + host);
    }

    /// <summary>Reads lines of the child's output until one starts with <paramref name="prefix"/>.</summary>
    public static async Task<string> WaitForLineAsync(Process process, string prefix, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            string? line = await process.StandardOutput.ReadLineAsync(cts.Token);
            if (line is null)
            {
                throw new InvalidOperationException($"Child exited before printing '{prefix}'.");
            }

            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }

            Console.WriteLine("  [child] " + line);
        }
    }
}
