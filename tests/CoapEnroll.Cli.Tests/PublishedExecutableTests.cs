using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Hosting;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// The single-file executable (<see cref="PublishedExecutableFixture"/>) is the whole program: alone in its folder, it runs
/// <c>serve</c> from a directory outside the repository on its compiled-in defaults, the demo device enrolls with the commands it
/// prints, and those begin with the executable's path. The publish profile is linux-x64's.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(nameof(CliProjectCollection))]
public sealed class PublishedExecutableTests : IClassFixture<PublishedExecutableFixture>
{
    private readonly PublishedExecutableFixture _published;

    public PublishedExecutableTests(PublishedExecutableFixture published)
    {
        _published = published;
    }

    [Fact]
    public void The_publish_folder_holds_the_executable_alone()
    {
        // No appsettings.json, coapenroll.dll, libe_sqlite3.so or .pdb beside it: what is copied to a server is this one file.
        string[] files = [.. Directory.EnumerateFileSystemEntries(_published.PublishDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(["coapenroll"], files);
        Assert.NotEqual(UnixFileMode.None, File.GetUnixFileMode(_published.Executable) & UnixFileMode.UserExecute);
    }

    [Fact]
    public async Task Serve_from_a_directory_outside_the_repository_enrolls_the_demo_device_with_the_commands_it_prints()
    {
        using var dir = new TempDirectory("coapenroll-published-");
        await using ServeProcess server = await ServeProcess.StartAsync(_published.Executable, [], _published.Environment, dir.Path);

        string enroll = await PrintedCommand.AssertServeHintsRunAsync(server, Directory.CreateDirectory(dir.File("scratch")).FullName, _published.Environment);

        Assert.StartsWith($"{ShellWords.Quote(_published.Executable, windows: false)} est enroll --server coaps://127.0.0.1:", enroll, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_data_the_data_directory_is_data_under_the_working_directory()
    {
        using var dir = new TempDirectory("coapenroll-published-");
        ProcessResult result = await ExternalProcess.RunAsync("sh", ["-c", $"cd {ShellWords.Quote(dir.Path, windows: false)} && exec {ShellWords.Quote(_published.Executable, windows: false)} requests list"],
            TimeSpan.FromSeconds(60), environment: _published.Environment);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        string data = Path.Combine(dir.Path, "data");
        Assert.Contains($"No certificate store in '{data}'", result.StandardError, StringComparison.Ordinal);
        Assert.Contains($"start the server there first: {ShellWords.Quote(_published.Executable, windows: false)} serve --data {ShellWords.Quote(data, windows: false)}",
            result.StandardError, StringComparison.Ordinal);
    }
}
