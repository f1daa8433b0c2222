using System.Diagnostics;
using System.Text;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>What an external program did: exit code, output, and whether it had to be killed.</summary>
public sealed record ProcessResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError, bool TimedOut)
{
    /// <summary>Everything worth showing in an assertion message.</summary>
    public string Describe() =>
        $"$ {CommandLine}{Environment.NewLine}exit code: {(TimedOut ? "killed after timeout" : ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture))}{Environment.NewLine}"
        + $"--- stdout ---{Environment.NewLine}{StandardOutput}{Environment.NewLine}--- stderr ---{Environment.NewLine}{StandardError}";
}

/// <summary>Runs external programs with a timeout, killing the process tree when it expires.</summary>
public static class ExternalProcess
{
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, byte[]? standardInput = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = Start(fileName, arguments, standardInput is not null, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(standardInput);
            process.StandardInput.Close();
        }

        bool timedOut = false;
        using (var cts = new CancellationTokenSource(timeout))
        {
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                timedOut = true;
                Kill(process);
                await process.WaitForExitAsync();
            }
        }

        return new ProcessResult(CommandLine(fileName, arguments), timedOut ? -1 : process.ExitCode, await stdout, await stderr, timedOut);
    }

    /// <summary>Starts a long-running program with its output collected into <paramref name="output"/>.</summary>
    /// <param name="environment">Variables to set for the program (e.g. OPENSSL_CONF), on top of ours.</param>
    /// <param name="workingDirectory">Where the program runs (e.g. beside the appsettings.json it should read); null: ours.</param>
    public static Process StartCollecting(string fileName, IEnumerable<string> arguments, StringBuilder output, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var process = Start(fileName, arguments, redirectInput: false, environment, workingDirectory);
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
    }

    public static string CommandLine(string fileName, IEnumerable<string> arguments)
        => string.Join(' ', new[] { fileName }.Concat(arguments.Select(a => a.Contains(' ', StringComparison.Ordinal) || a.Length == 0 ? $"'{a}'" : a)));

    private static Process Start(string fileName, IEnumerable<string> arguments, bool redirectInput, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? string.Empty,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
