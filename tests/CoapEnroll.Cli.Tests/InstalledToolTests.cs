using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Hosting;
using CoapEnroll.Testing;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// coapenroll installed the .NET way (<see cref="InstalledToolFixture"/>: dotnet pack, dotnet tool install): the tool runs, and what
/// its <c>serve</c> prints at the first start runs as printed, whether PATH finds the tool or not.
/// </summary>
[Collection(nameof(CliProjectCollection))]
public sealed class InstalledToolTests : IClassFixture<InstalledToolFixture>
{
    private readonly InstalledToolFixture _tool;

    public InstalledToolTests(InstalledToolFixture tool)
    {
        _tool = tool;
    }

    [Fact]
    public async Task The_installed_tool_shows_its_commands_and_the_package_s_version()
    {
        ProcessResult help = await ExternalProcess.RunAsync(_tool.Tool, ["--help"], TimeSpan.FromSeconds(60));
        Assert.True(help.ExitCode == 0, help.Describe());
        foreach (string command in new[] { "serve", "coap", "est", "cmp", "requests", "ca" })
        {
            Assert.Contains($"  {command} ", help.StandardOutput, StringComparison.Ordinal);
        }

        ProcessResult version = await ExternalProcess.RunAsync(_tool.Tool, ["--version"], TimeSpan.FromSeconds(60));
        Assert.True(version.ExitCode == 0 && version.StandardOutput.StartsWith(_tool.Version, StringComparison.Ordinal), $"package {_tool.Version}: {version.Describe()}");
    }

    [Fact]
    public async Task Serve_from_the_tool_on_PATH_prints_coapenroll_commands_that_run_as_printed()
    {
        // A space in the data directory's path: the printed --trust, --cert and --key must be quoted for the command to run.
        using var dir = new TempDirectory("coapenroll-tool path-");
        var path = new Dictionary<string, string> { ["PATH"] = $"{_tool.ToolPath}{Path.PathSeparator}{Environment.GetEnvironmentVariable("PATH")}" };
        await using ServeProcess server = await ServeProcess.StartAsync(_tool.Tool, [], path, dir.Path);

        string enroll = await PrintedCommand.AssertServeHintsRunAsync(server, Directory.CreateDirectory(dir.File("scratch")).FullName, path);

        Assert.StartsWith("coapenroll est enroll --server coaps://127.0.0.1:", enroll, StringComparison.Ordinal);
        Assert.Contains($" --trust {ShellWords.Quote(server.TrustAnchor, windows: false)} ", enroll, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_from_a_tool_path_PATH_does_not_hold_prints_the_tool_s_path_and_it_runs_as_printed()
    {
        Assert.DoesNotContain(_tool.ToolPath, Environment.GetEnvironmentVariable("PATH") ?? "", StringComparison.Ordinal);
        using var dir = new TempDirectory("coapenroll-tool-");
        await using ServeProcess server = await ServeProcess.StartAsync(_tool.Tool, [], null, dir.Path);

        string enroll = await PrintedCommand.AssertServeHintsRunAsync(server, Directory.CreateDirectory(dir.File("scratch")).FullName);

        Assert.StartsWith($"{ShellWords.Quote(_tool.Tool, windows: false)} est enroll --server coaps://127.0.0.1:", enroll, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_s_next_command_begins_as_the_tool_was_started()
    {
        using var dir = new TempDirectory("coapenroll-tool-");
        string data = dir.File("no store here");
        ProcessResult result = await ExternalProcess.RunAsync(_tool.Tool, ["requests", "list", "--data", data], TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == ExitCodes.Usage, result.Describe());
        Assert.Contains($"start the server there first: {ShellWords.Quote(_tool.Tool, windows: false)} serve --data {ShellWords.Quote(data, windows: false)}",
            result.StandardError, StringComparison.Ordinal);
    }
}
