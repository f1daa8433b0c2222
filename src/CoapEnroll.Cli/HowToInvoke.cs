using CoapEnroll.Hosting;

namespace CoapEnroll.Cli;

/// <summary>
/// How the commands this program prints (the hints of <c>serve</c>, "run … next" in messages) must begin to run as printed, in the
/// way this process was started:
/// <list type="bullet">
/// <item>an installed .NET tool (<c>dotnet tool install -g</c> or <c>--tool-path DIR</c>): <c>coapenroll</c> when PATH finds that shim,
/// else the shim's path;</item>
/// <item>a local tool (<c>dotnet coapenroll</c>, a tool manifest): <c>dotnet coapenroll</c>;</item>
/// <item><c>dotnet run --project P</c>: <c>dotnet run --no-build --project P [-c CONFIGURATION] --</c> (the build that runs is there
/// already; building again while serve runs from it would only take time);</item>
/// <item><c>dotnet path/coapenroll.dll</c>: <c>dotnet path/coapenroll.dll</c>;</item>
/// <item>any other apphost (a published folder, the build output run directly): <c>coapenroll</c> when PATH finds it, else its path.</item>
/// </list>
/// Paths below the working directory are printed relative to it. In-process (a test host runs the commands) it is <c>coapenroll</c>.
/// </summary>
internal static class HowToInvoke
{
    private const string ToolCommand = "coapenroll";
    private const string EntryAssemblyName = "coapenroll.dll";

    private static readonly Lazy<CommandLinePrefix> s_thisProcess = new(() => Detect(ProcessStart.Current()));

    /// <summary>How this process was started, read once.</summary>
    public static CommandLinePrefix ThisProcess => s_thisProcess.Value;

    /// <summary>The command line of this program for <paramref name="arguments"/>, as this process was started and quoted for a shell.</summary>
    public static string Command(params IEnumerable<string> arguments) => ThisProcess.Format(arguments);

    public static CommandLinePrefix Detect(ProcessStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (start.EntryAssembly is not { } entry || !Path.GetFileName(entry).Equals(EntryAssemblyName, StringComparison.OrdinalIgnoreCase)
            || start.ProcessPath is not { } process)
        {
            return CommandLinePrefix.Default;
        }

        if (IsDotnetHost(process))
        {
            return IsLocalTool(entry, start.ParentCommandLine) ? new CommandLinePrefix("dotnet", ToolCommand)
                : new CommandLinePrefix(Executable("dotnet", process, start), Display(entry, start, asProgram: false));
        }

        if (BuildOutput(entry) is { } build && (start.ParentCommandLine is null || IsDotnetRun(start.ParentCommandLine)))
        {
            string project = Display(build.Project, start, asProgram: false);
            return new CommandLinePrefix([
                "dotnet", "run", "--no-build",
                .. project == "." ? Array.Empty<string>() : ["--project", project],
                .. build.Configuration.Equals("Debug", StringComparison.OrdinalIgnoreCase) ? Array.Empty<string>() : ["-c", build.Configuration],
                .. build.RuntimeIdentifier is { } rid ? ["-r", rid] : Array.Empty<string>(),
                "--"]);
        }

        return new CommandLinePrefix(Executable(ToolCommand, process, start));
    }

    private static bool IsDotnetHost(string path) => Path.GetFileNameWithoutExtension(path).Equals("dotnet", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A local tool runs from the NuGet packages folder, <c>…/coapenroll/VERSION/tools/TFM/any/coapenroll.dll</c>, through the dotnet host
    /// (<c>dotnet coapenroll</c> or <c>dotnet tool run coapenroll</c>). Global and tool-path installs run the same layout under
    /// <c>.store</c>, but through their shim.
    /// </summary>
    private static bool IsLocalTool(string entry, IReadOnlyList<string>? parent)
    {
        string? any = Path.GetDirectoryName(entry);
        string? framework = any is null ? null : Path.GetDirectoryName(any);
        string? tools = framework is null ? null : Path.GetDirectoryName(framework);
        bool layout = any is not null && framework is not null && tools is not null
            && Path.GetFileName(any) == "any" && Path.GetFileName(tools) == "tools" && Path.GetFileName(framework).StartsWith("net", StringComparison.Ordinal);
        if (!layout)
        {
            return false;
        }

        return parent is null || (parent.Count >= 2 && IsDotnetHost(parent[0])
            && (parent[1] == ToolCommand || (parent.Count >= 4 && parent[1] == "tool" && parent[2] == "run" && parent[3] == ToolCommand)));
    }

    /// <summary><c>dotnet run …</c>: the dotnet host with <c>run</c> as its first argument that is not an option.</summary>
    private static bool IsDotnetRun(IReadOnlyList<string> parent)
        => parent.Count >= 2 && IsDotnetHost(parent[0]) && parent.Skip(1).FirstOrDefault(a => !a.StartsWith('-')) == "run";

    /// <summary>The project whose build output holds <paramref name="entry"/>: <c>PROJECT/bin/CONFIGURATION/TFM[/RID]/coapenroll.dll</c>, beside a .csproj.</summary>
    private static (string Project, string Configuration, string? RuntimeIdentifier)? BuildOutput(string entry)
    {
        string? directory = Path.GetDirectoryName(entry);
        for (int depth = 0; depth < 2 && directory is not null; depth++)
        {
            string? configuration = Path.GetDirectoryName(directory);
            string? bin = configuration is null ? null : Path.GetDirectoryName(configuration);
            string? project = bin is null ? null : Path.GetDirectoryName(bin);
            if (project is not null && Path.GetFileName(bin) == "bin" && Directory.EnumerateFiles(project, "*.csproj").Any())
            {
                string? runtime = depth == 1 ? Path.GetFileName(Path.GetDirectoryName(entry)) : null;
                return (project, Path.GetFileName(configuration)!, runtime);
            }

            directory = Path.GetDirectoryName(directory);
        }

        return null;
    }

    /// <summary>The bare <paramref name="name"/> when PATH finds <paramref name="path"/> under it (links resolved), else the path.</summary>
    private static string Executable(string name, string path, ProcessStart start)
        => FindOnPath(name, start) is { } found && SameFile(found, path) ? name : Display(path, start, asProgram: true);

    private static string? FindOnPath(string name, ProcessStart start)
    {
        string file = start.Windows ? name + ".exe" : name;
        foreach (string directory in (start.SearchPath ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, file);
            if (File.Exists(candidate) && (start.Windows || OperatingSystem.IsWindows() || (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool SameFile(string a, string b)
        => string.Equals(Resolve(a), Resolve(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static string Resolve(string path)
    {
        string full = Path.GetFullPath(path);
        return new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
    }

    /// <summary>
    /// <paramref name="path"/> relative to the working directory when it lies below it, else absolute. A program in the working
    /// directory itself gets <c>./</c>, or the shell would look for it on PATH.
    /// </summary>
    private static string Display(string path, ProcessStart start, bool asProgram)
    {
        string relative = Path.GetRelativePath(start.WorkingDirectory, path);
        if (relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            return Path.GetFullPath(path);
        }

        return asProgram && !relative.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) ? "." + Path.DirectorySeparatorChar + relative : relative;
    }
}
