namespace CoapEnroll.Cli.Tests;

/// <summary>
/// Tests that run dotnet on src/CoapEnroll.Cli itself (pack, run, publish), one class at a time: publishing for linux-x64 restores
/// the project again and rewrites its obj/ (project.assets.json, the NuGet .props), which a concurrent <c>dotnet pack</c> or
/// <c>dotnet run</c> of the same project reads.
/// </summary>
[CollectionDefinition(nameof(CliProjectCollection))]
public sealed class CliProjectCollection
{
}
