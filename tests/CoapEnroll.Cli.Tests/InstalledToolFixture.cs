using System.Globalization;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// The coapenroll .NET tool packed from src/CoapEnroll.Cli and installed into a temporary tool path, as the README's
/// <c>dotnet pack</c> and <c>dotnet tool install</c> do, but with nothing on the machine changed: <c>--tool-path</c> instead of
/// <c>--global</c>, NuGet's packages folder in the temporary directory, and a nuget.config whose only source is the packed folder
/// (no network). Packing takes the build these tests reference (<c>--no-build</c>): compiling again is what the test build did.
/// </summary>
public sealed class InstalledToolFixture : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(5);

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "tool-" + Guid.NewGuid().ToString("N"));

    /// <summary>The folder <c>dotnet tool install --tool-path</c> installed into; it holds the shim.</summary>
    public string ToolPath => Path.Combine(Directory, "tools");

    /// <summary>The installed tool's shim, <c>TOOLS/coapenroll</c>.</summary>
    public string Tool => Path.Combine(ToolPath, OperatingSystem.IsWindows() ? "coapenroll.exe" : "coapenroll");

    /// <summary>The version of the package packed (coapenroll.VERSION.nupkg).</summary>
    public string Version { get; private set; } = "";

    public async Task InitializeAsync()
    {
        string feed = Path.Combine(Directory, "feed");
        System.IO.Directory.CreateDirectory(feed);
        ProcessResult pack = await ExternalProcess.RunAsync(ServeProcess.DotnetHost,
            ["pack", SourceTree.CliProject, "-c", SourceTree.Configuration, "--no-build", "-o", feed, $"-p:PublishDir={Path.Combine(Directory, "publish")}{Path.DirectorySeparatorChar}"],
            s_timeout);
        Assert.True(pack.ExitCode == 0, pack.Describe());
        string package = Assert.Single(System.IO.Directory.GetFiles(feed, "coapenroll.*.nupkg"));
        Version = Path.GetFileNameWithoutExtension(package)["coapenroll.".Length..];

        string config = Path.Combine(Directory, "nuget.config");
        await File.WriteAllTextAsync(config, string.Format(CultureInfo.InvariantCulture,
            """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="coapenroll-under-test" value="{0}" />
              </packageSources>
            </configuration>
            """, System.Security.SecurityElement.Escape(feed)));
        ProcessResult install = await ExternalProcess.RunAsync(ServeProcess.DotnetHost,
            ["tool", "install", "--tool-path", ToolPath, "--configfile", config, "--version", Version, "coapenroll"], s_timeout,
            environment: new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(Directory, "packages") });
        Assert.True(install.ExitCode == 0 && File.Exists(Tool), install.Describe());
    }

    public Task DisposeAsync()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }
}
