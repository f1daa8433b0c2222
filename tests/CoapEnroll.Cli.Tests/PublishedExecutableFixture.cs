using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// coapenroll published as the README says, <c>bash scripts/publish.sh DIR</c>: one self-contained executable for linux-x64
/// (src/CoapEnroll.Cli/Properties/PublishProfiles/linux-x64.pubxml), once per test run, in the configuration these tests were built
/// in so that the libraries' build is reused and only the program is compiled again for the runtime and bundled.
/// </summary>
public sealed class PublishedExecutableFixture : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(10);

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "publish-" + Guid.NewGuid().ToString("N"));

    /// <summary>The folder the executable was published into.</summary>
    public string PublishDirectory => Path.Combine(Directory, "out");

    /// <summary>PUBLISH/coapenroll.</summary>
    public string Executable => Path.Combine(PublishDirectory, "coapenroll");

    /// <summary>
    /// The executable's environment: the native SQLite library it unpacks at its first start goes to the test's directory, not
    /// $HOME/.net.
    /// </summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = Path.Combine(Directory, "extract"),
    };

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        ProcessResult publish = await ExternalProcess.RunAsync("bash", [Path.Combine(SourceTree.Repository, "scripts", "publish.sh"), PublishDirectory], s_timeout,
            environment: new Dictionary<string, string> { ["CONFIGURATION"] = SourceTree.Configuration });
        Assert.True(publish.ExitCode == 0 && File.Exists(Executable), publish.Describe());
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
