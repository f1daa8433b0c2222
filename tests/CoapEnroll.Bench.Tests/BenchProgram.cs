using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace CoapEnroll.Bench.Tests;

/// <summary>Runs the bench (<c>bench/CoapEnroll.Bench</c>) as its own process, built in this test build's configuration.</summary>
internal static class BenchProgram
{
    /// <summary>The directory of CoapEnroll.sln above the test output.</summary>
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

            throw new Xunit.Sdk.XunitException($"No CoapEnroll.sln above {AppContext.BaseDirectory}: these tests run bench/ and src/ from the repository.");
        }
    }

    private static string Configuration => typeof(BenchProgram).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration
        ?? throw new Xunit.Sdk.XunitException("The test assembly names no configuration.");

    /// <summary>The server the bench starts: src/CoapEnroll.Cli's build in this configuration.</summary>
    public static string CoapEnrollDll => Path.Combine(Repository, "src", "CoapEnroll.Cli", "bin", Configuration, "net10.0", "coapenroll.dll");

    private static string BenchDll => Path.Combine(Repository, "bench", "CoapEnroll.Bench", "bin", Configuration, "net10.0", "CoapEnroll.Bench.dll");

    /// <summary>Runs <c>dotnet CoapEnroll.Bench.dll ARGS</c> to its end (at most <paramref name="limit"/>, then killed) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(TimeSpan limit, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(BenchDll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var output = new StringBuilder();
        Task stdout = CopyAsync(process.StandardOutput, output);
        Task stderr = CopyAsync(process.StandardError, output);
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            await Task.WhenAll(stdout, stderr);
            throw new Xunit.Sdk.XunitException($"bench {string.Join(' ', arguments)} did not end within {limit.TotalSeconds} s:{Environment.NewLine}{output}");
        }

        await Task.WhenAll(stdout, stderr);
        return (process.ExitCode, output.ToString());
    }

    private static async Task CopyAsync(StreamReader reader, StringBuilder output)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}
