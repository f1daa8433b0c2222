using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// How the printed commands begin, for each way the program can be started. Each case lays out the files as that way leaves them
/// (a tool's shim and .store, a project's build output beside its .csproj, the NuGet packages folder) in a temporary directory.
/// </summary>
public sealed class HowToInvokeTests : IDisposable
{
    private readonly TempDirectory _dir = new("coapenroll-invoke-");

    public void Dispose() => _dir.Dispose();

    private string Root => _dir.Path;

    [Fact]
    public void In_process_under_another_entry_assembly_it_is_the_tool_command()
    {
        var start = new ProcessStart("/usr/share/dotnet/dotnet", "/x/testhost.dll", null, Root, null, Windows: false);
        Assert.Equal("coapenroll requests list", HowToInvoke.Detect(start).Format("requests", "list"));
        Assert.Equal("coapenroll est enroll", HowToInvoke.Detect(start with { EntryAssembly = null }).Format("est", "enroll"));
    }

    [Fact]
    public void A_tool_installed_where_PATH_finds_its_shim_is_the_bare_command()
    {
        string tools = Dir("home", ".dotnet", "tools");
        string shim = Executable(tools, "coapenroll");
        string entry = File(Path.Combine(tools, ".store", "coapenroll", "0.1.0", "coapenroll", "0.1.0", "tools", "net10.0", "any"), "coapenroll.dll");
        var start = new ProcessStart(shim, entry, ["bash"], Dir("work"), Join("/nonexistent", tools, "/usr/bin"), Windows: false);

        Assert.Equal("coapenroll est enroll --out dev.pem", HowToInvoke.Detect(start).Format("est", "enroll", "--out", "dev.pem"));
    }

    [Fact]
    public void A_tool_whose_shim_PATH_does_not_find_is_its_path()
    {
        string tools = Dir("my tools");
        string shim = Executable(tools, "coapenroll");
        string entry = File(Path.Combine(tools, ".store", "coapenroll", "0.1.0", "coapenroll", "0.1.0", "tools", "net10.0", "any"), "coapenroll.dll");
        string other = Dir("other");
        Executable(other, "coapenroll"); // another coapenroll that PATH finds first is not the one running
        var start = new ProcessStart(shim, entry, ["bash"], Dir("work"), Join(other), Windows: false);

        Assert.Equal($"{Quoted(shim)} est enroll", HowToInvoke.Detect(start).Format("est", "enroll"));
    }

    [Fact]
    public void A_shim_PATH_finds_through_a_symbolic_link_is_the_bare_command()
    {
        string tools = Dir("tools");
        string shim = Executable(tools, "coapenroll");
        string entry = File(Path.Combine(tools, ".store", "coapenroll", "0.1.0", "coapenroll", "0.1.0", "tools", "net10.0", "any"), "coapenroll.dll");
        string bin = Dir("bin");
        System.IO.File.CreateSymbolicLink(Path.Combine(bin, "coapenroll"), shim);
        var start = new ProcessStart(shim, entry, ["bash"], Dir("work"), Join(bin), Windows: false);

        Assert.Equal("coapenroll serve", HowToInvoke.Detect(start).Format("serve"));
    }

    [Theory]
    [InlineData("dotnet", "coapenroll", "serve")]
    [InlineData("dotnet", "tool", "run", "coapenroll", "serve")]
    public void A_local_tool_is_dotnet_coapenroll(params string[] parent)
    {
        string entry = File(Path.Combine(Dir("home", ".nuget", "packages", "coapenroll", "0.1.0", "tools", "net10.0", "any")), "coapenroll.dll");
        string dotnet = Executable(Dir("dotnet"), "dotnet");
        var start = new ProcessStart(dotnet, entry, parent, Dir("work"), Join(Path.GetDirectoryName(dotnet)!), Windows: false);

        Assert.Equal("dotnet coapenroll est crts", HowToInvoke.Detect(start).Format("est", "crts"));
    }

    [Fact]
    public void Dotnet_run_from_the_repository_is_dotnet_run_with_the_project_relative_to_the_working_directory()
    {
        (string repository, string project, string output) = SourceTree("repo", "Debug");
        var start = new ProcessStart(Path.Combine(output, "coapenroll"), Path.Combine(output, "coapenroll.dll"),
            ["dotnet", "run", "--project", "src/CoapEnroll.Cli", "--", "serve"], repository, "/usr/bin", Windows: false);

        Assert.Equal("dotnet run --no-build --project src/CoapEnroll.Cli -- est enroll", HowToInvoke.Detect(start).Format("est", "enroll"));
        Assert.Equal("dotnet run --no-build -- est enroll", HowToInvoke.Detect(start with { WorkingDirectory = project }).Format("est", "enroll"));
    }

    [Fact]
    public void Dotnet_run_in_Release_from_elsewhere_names_the_configuration_and_the_absolute_project()
    {
        (_, string project, string output) = SourceTree("my repo", "Release");
        var start = new ProcessStart(Path.Combine(output, "coapenroll"), Path.Combine(output, "coapenroll.dll"),
            ["/usr/share/dotnet/dotnet", "run", "-c", "Release", "--project", project], Dir("elsewhere"), "/usr/bin", Windows: false);

        Assert.Equal($"dotnet run --no-build --project {Quoted(project)} -c Release -- requests list", HowToInvoke.Detect(start).Format("requests", "list"));
    }

    [Fact]
    public void Dotnet_run_of_a_runtime_specific_build_names_the_runtime()
    {
        (string repository, _, string output) = SourceTree("repo", "Debug");
        string rid = Directory.CreateDirectory(Path.Combine(output, "linux-x64")).FullName;
        var start = new ProcessStart(Path.Combine(rid, "coapenroll"), Path.Combine(rid, "coapenroll.dll"), ["dotnet", "run", "-r", "linux-x64"], repository, null, Windows: false);

        Assert.Equal("dotnet run --no-build --project src/CoapEnroll.Cli -r linux-x64 -- serve", HowToInvoke.Detect(start).Format("serve"));
    }

    [Fact]
    public void The_build_output_s_apphost_run_directly_is_its_path()
    {
        (string repository, _, string output) = SourceTree("repo", "Release");
        var start = new ProcessStart(Path.Combine(output, "coapenroll"), Path.Combine(output, "coapenroll.dll"), ["bash"], repository, "/usr/bin", Windows: false);

        Assert.Equal("src/CoapEnroll.Cli/bin/Release/net10.0/coapenroll serve", HowToInvoke.Detect(start).Format("serve"));
        Assert.Equal("./coapenroll serve", HowToInvoke.Detect(start with { WorkingDirectory = output }).Format("serve"));
    }

    [Fact]
    public void Where_the_parent_is_unknown_a_build_output_is_run_with_dotnet_run()
    {
        (string repository, _, string output) = SourceTree("repo", "Debug");
        var start = new ProcessStart(Path.Combine(output, "coapenroll"), Path.Combine(output, "coapenroll.dll"), null, repository, null, Windows: false);

        Assert.Equal("dotnet run --no-build --project src/CoapEnroll.Cli -- serve", HowToInvoke.Detect(start).Format("serve"));
    }

    [Fact]
    public void Dotnet_with_the_dll_is_dotnet_and_the_dll()
    {
        (string repository, _, string output) = SourceTree("repo", "Release");
        string dotnet = Executable(Dir("dotnet"), "dotnet");
        string dll = Path.Combine(output, "coapenroll.dll");
        var start = new ProcessStart(dotnet, dll, ["bash"], repository, Join(Path.GetDirectoryName(dotnet)!), Windows: false);

        Assert.Equal("dotnet src/CoapEnroll.Cli/bin/Release/net10.0/coapenroll.dll serve", HowToInvoke.Detect(start).Format("serve"));
        Assert.Equal($"dotnet {Quoted(dll)} serve", HowToInvoke.Detect(start with { WorkingDirectory = Dir("elsewhere") }).Format("serve"));
    }

    [Fact]
    public void A_dotnet_host_PATH_does_not_find_is_its_path()
    {
        string dotnet = Executable(Dir("opt", "dotnet 10"), "dotnet");
        string dll = File(Dir("app"), "coapenroll.dll");
        var start = new ProcessStart(dotnet, dll, null, Dir("work"), "/nonexistent", Windows: false);

        Assert.Equal($"{Quoted(dotnet)} {Quoted(dll)} serve", HowToInvoke.Detect(start).Format("serve"));
    }

    [Fact]
    public void A_published_apphost_on_PATH_is_the_bare_command()
    {
        string published = Dir("opt", "coapenroll");
        string apphost = Executable(published, "coapenroll");
        var start = new ProcessStart(apphost, File(published, "coapenroll.dll"), ["bash"], Dir("work"), Join(published), Windows: false);

        Assert.Equal("coapenroll serve", HowToInvoke.Detect(start).Format("serve"));
    }

    /// <summary>A repository with src/CoapEnroll.Cli/CoapEnroll.Cli.csproj and its build output for <paramref name="configuration"/>.</summary>
    private (string Repository, string Project, string Output) SourceTree(string name, string configuration)
    {
        string repository = Dir(name);
        string project = Dir(name, "src", "CoapEnroll.Cli");
        File(project, "CoapEnroll.Cli.csproj");
        string output = Dir(name, "src", "CoapEnroll.Cli", "bin", configuration, "net10.0");
        Executable(output, "coapenroll");
        File(output, "coapenroll.dll");
        return (repository, project, output);
    }

    private string Dir(params string[] parts) => Directory.CreateDirectory(Path.Combine([Root, .. parts])).FullName;

    private static string File(string directory, string name)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, name);
        System.IO.File.WriteAllBytes(path, []);
        return path;
    }

    private static string Executable(string directory, string name)
    {
        string path = File(directory, name);
        if (!OperatingSystem.IsWindows())
        {
            System.IO.File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    private static string Join(params string[] directories) => string.Join(Path.PathSeparator, directories);

    private static string Quoted(string path) => Hosting.ShellWords.Quote(path, OperatingSystem.IsWindows());
}
