using System.CommandLine;
using System.CommandLine.Help;
using CoapEnroll.Cli.Client;
using CoapEnroll.Cli.Enrollment;
using CoapEnroll.Cli.Serve;

namespace CoapEnroll.Cli;

/// <summary>
/// The <c>coapenroll</c> command line. Parse errors and <see cref="CliException"/>s become one line on
/// stderr and an exit code from <see cref="ExitCodes"/>.
/// </summary>
internal static class CliApplication
{
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("CoapEnroll: CoAP/DTLS certificate enrollment for constrained devices.")
        {
            ServeCommand.Create(),
            CoapRequestCommand.Create(),
            EstCommand.Create(),
            CmpCommand.Create(),
            RequestsCommand.Create(),
            CaCommand.Create(),
            AdminCommand.Create(),
            BackupCommand.Create(),
        };
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var parseResult = CreateRootCommand().Parse(args);
        if (parseResult.Errors.Count > 0)
        {
            string help = HowToInvoke.Command([.. Ancestry(parseResult.CommandResult.Command), "--help"]);
            string messages = string.Join("; ", parseResult.Errors.Select(e => e.Message.TrimEnd('.')).Distinct());
            await error.WriteLineAsync($"coapenroll: error: {messages} (see '{help}')");
            return ExitCodes.Usage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,

            // Program handles Ctrl-C itself and cancels cancellationToken; serve's host handles it too.
            ProcessTerminationTimeout = null,
        };

        try
        {
            if (parseResult.RootCommandResult.Command.Options.OfType<HelpOption>().FirstOrDefault() is { } helpOption && parseResult.GetResult(helpOption) is not null)
            {
                var help = new StringWriter();
                configuration.Output = help;
                int exitCode = await parseResult.InvokeAsync(configuration, cancellationToken);
                await output.WriteAsync(FixUsage(help.ToString()));
                return exitCode;
            }

            return await parseResult.InvokeAsync(configuration, cancellationToken);
        }
        catch (CliException ex)
        {
            await error.WriteLineAsync($"coapenroll: error: {ex.Message}");
            return ex.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("coapenroll: interrupted");
            return ExitCodes.Interrupted;
        }
    }

    /// <summary>
    /// The usage line of a command that takes configuration keys (unmatched tokens): System.CommandLine 2.0.0 prints
    /// "[[--] &lt;additional arguments&gt;...]]", one ']' too many, and says nothing of what those arguments are.
    /// </summary>
    internal static string FixUsage(string help) =>
        help.Replace("[[--] <additional arguments>...]]", "[--Key=value ...]", StringComparison.Ordinal);

    private static IEnumerable<string> Ancestry(Command command)
    {
        var names = new Stack<string>();
        for (Symbol? s = command; s is not null and not RootCommand; s = s.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Push(s.Name);
        }

        return names;
    }
}
