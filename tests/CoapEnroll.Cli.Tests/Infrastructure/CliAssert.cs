namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>Runs <c>coapenroll</c> and checks the outcome the way a script would see it: the exit code and stderr.</summary>
public static class CliAssert
{
    public static async Task<CliResult> SucceedsAsync(params string[] args)
    {
        CliResult result = await CliRunner.RunAsync(args);
        Assert.True(result.ExitCode == ExitCodes.Success, result.Describe());
        return result;
    }

    /// <summary>
    /// Exit code <paramref name="exitCode"/> and exactly one line on stderr, <c>coapenroll: error: …</c>, containing every one
    /// of <paramref name="expected"/> (no stack trace, no second line).
    /// </summary>
    public static async Task<string> FailsAsync(int exitCode, string[] expected, string[] args, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        CliResult result = await CliRunner.RunAsync(args, timeout.Token);
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(result.ExitCode == exitCode && lines.Length == 1, result.Describe());
        Assert.True(lines[0].StartsWith("coapenroll: error: ", StringComparison.Ordinal), result.Describe());
        foreach (string part in expected)
        {
            Assert.True(lines[0].Contains(part, StringComparison.Ordinal), $"'{part}' is not in the error line.{Environment.NewLine}{result.Describe()}");
        }

        return lines[0];
    }
}
