namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>What one in-process <c>coapenroll</c> invocation printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public string Describe() => $"exit code {ExitCode}{Environment.NewLine}--- stdout ---{Environment.NewLine}{Output}--- stderr ---{Environment.NewLine}{Error}";
}

/// <summary>Runs the real command line in-process with captured output.</summary>
public static class CliRunner
{
    public static async Task<CliResult> RunAsync(params string[] args)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await RunAsync(args, timeout.Token);
    }

    public static async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = await CliApplication.RunAsync(args, output, error, cancellationToken);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }
}
