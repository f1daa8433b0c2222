using System.Reflection;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>Where this test run's sources and build are: the repository holding CoapEnroll.sln, and the configuration these tests were built in.</summary>
public static class SourceTree
{
    /// <summary>The directory of CoapEnroll.sln above the test output.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">The tests run outside the repository (copied elsewhere).</exception>
    public static string Repository
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "CoapEnroll.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new Xunit.Sdk.XunitException($"No CoapEnroll.sln above {AppContext.BaseDirectory}: these tests pack and run src/CoapEnroll.Cli from the repository.");
        }
    }

    /// <summary>src/CoapEnroll.Cli.</summary>
    public static string CliProject => Path.Combine(Repository, "src", "CoapEnroll.Cli");

    /// <summary>Debug or Release: the configuration of this test build, and so of the src/CoapEnroll.Cli build it references.</summary>
    public static string Configuration => typeof(SourceTree).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration
        ?? throw new Xunit.Sdk.XunitException("The test assembly names no configuration.");
}
