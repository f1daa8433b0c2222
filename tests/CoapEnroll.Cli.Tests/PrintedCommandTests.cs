using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Hosting;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// What <c>serve</c> prints at its first start runs as printed when serve runs from the source tree: as <c>dotnet coapenroll.dll</c>,
/// and through <c>dotnet run --project</c> (the README's first command). The installed tool: <see cref="InstalledToolTests"/>.
/// </summary>
[Collection(nameof(CliProjectCollection))]
public sealed class PrintedCommandTests
{
    [Fact]
    public async Task Serve_as_dotnet_and_the_dll_prints_dotnet_and_the_dll_and_it_runs_as_printed()
    {
        using var dir = new TempDirectory("coapenroll-printed-");
        await using ServeProcess server = await ServeProcess.StartAsync(dir.Path);

        string enroll = await PrintedCommand.AssertServeHintsRunAsync(server, Directory.CreateDirectory(dir.File("scratch")).FullName);

        // The dotnet PATH finds is printed bare, another one by its path; the dll lies outside the working directory: absolute.
        string dll = ShellWords.Quote(Path.Combine(AppContext.BaseDirectory, "coapenroll.dll"), windows: false);
        Assert.True(enroll.StartsWith($"dotnet {dll} est enroll ", StringComparison.Ordinal)
            || enroll.StartsWith($"{ShellWords.Quote(ServeProcess.DotnetHost, windows: false)} {dll} est enroll ", StringComparison.Ordinal), enroll);
    }

    [Fact]
    public async Task Serve_through_dotnet_run_prints_dotnet_run_and_it_runs_as_printed()
    {
        using var dir = new TempDirectory("coapenroll-printed-");
        string configuration = SourceTree.Configuration;

        // --no-build: this test's build of src/CoapEnroll.Cli is the one to run; building it again here would only take time.
        await using ServeProcess server = await ServeProcess.StartAsync(ServeProcess.DotnetHost,
            ["run", "--no-build", "-c", configuration, "--project", SourceTree.CliProject, "--"], null, dir.Path);

        string enroll = await PrintedCommand.AssertServeHintsRunAsync(server, Directory.CreateDirectory(dir.File("scratch")).FullName);

        string project = ShellWords.Quote(SourceTree.CliProject, windows: false);
        string named = configuration == "Debug" ? "" : $" -c {configuration}";
        Assert.StartsWith($"dotnet run --no-build --project {project}{named} -- est enroll ", enroll, StringComparison.Ordinal);
    }
}
