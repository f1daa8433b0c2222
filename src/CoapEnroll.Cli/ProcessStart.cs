using System.Globalization;
using System.Reflection;

namespace CoapEnroll.Cli;

/// <summary>What <see cref="HowToInvoke"/> decides from: how the operating system started this process.</summary>
/// <param name="ProcessPath">The executable: the dotnet host, or an apphost (the tool's shim, the build output's <c>coapenroll</c>).</param>
/// <param name="EntryAssembly">The full path of the entry assembly (<c>…/coapenroll.dll</c>; another name when in-process, as under a test host).</param>
/// <param name="ParentCommandLine">The parent process's arguments (<c>dotnet run --project …</c>); null where they cannot be read.</param>
/// <param name="WorkingDirectory">The current directory, to which printed paths are relative when they lie below it.</param>
/// <param name="SearchPath">The PATH variable.</param>
/// <param name="Windows">Whether executables are found with their <c>.exe</c> and command lines quoted for Windows.</param>
internal sealed record ProcessStart(string? ProcessPath, string? EntryAssembly, IReadOnlyList<string>? ParentCommandLine, string WorkingDirectory, string? SearchPath,
    bool Windows)
{
    /// <summary>This process.</summary>
    public static ProcessStart Current() => new(Environment.ProcessPath, EntryAssemblyPath(), ReadParentCommandLine(), Environment.CurrentDirectory,
        Environment.GetEnvironmentVariable("PATH"), OperatingSystem.IsWindows());

    /// <summary>
    /// The entry assembly's file. In a single-file executable (scripts/publish.sh) it has none: it is inside the executable, and
    /// where it would lie unbundled, beside the executable, tells <see cref="HowToInvoke"/> the same (an apphost outside a build).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000",
        Justification = "An empty Location is the single-file case, handled here.")]
    private static string? EntryAssemblyPath()
    {
        if (Assembly.GetEntryAssembly() is not { } entry)
        {
            return null;
        }

        string location = entry.Location;
        return location.Length > 0 ? location : Path.Combine(AppContext.BaseDirectory, entry.GetName().Name + ".dll");
    }

    /// <summary>
    /// The parent's arguments from Linux's /proc (.NET has no portable parent-process API); null elsewhere, or when the parent
    /// exited or cannot be read.
    /// </summary>
    private static string[]? ReadParentCommandLine()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            // /proc/self/stat is "pid (comm) state ppid …", where comm may hold spaces and parentheses: the fields after the last ')'.
            string stat = File.ReadAllText("/proc/self/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int parent = int.Parse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture);
            string commandLine = File.ReadAllText($"/proc/{parent.ToString(CultureInfo.InvariantCulture)}/cmdline");
            return commandLine.Length == 0 ? null : commandLine.TrimEnd('\0').Split('\0');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or OverflowException)
        {
            return null;
        }
    }
}
