namespace CoapEnroll.Cli;

/// <summary>
/// The process exit codes of <c>coapenroll</c>, documented in README.md. A response's class maps
/// to its own code so that scripts can tell "the server said no" from "nobody answered".
/// </summary>
internal static class ExitCodes
{
    /// <summary>Success: a 2.xx response, or <c>serve</c> shut down cleanly.</summary>
    public const int Success = 0;

    /// <summary>An unexpected failure, or <c>serve</c> could not start (for example the port is taken).</summary>
    public const int Failure = 1;

    /// <summary>Invalid usage or input: unknown option, bad URI, bad content format, unreadable file.</summary>
    public const int Usage = 2;

    /// <summary>No response: timeout, reset by the peer, unreachable or unresolvable host.</summary>
    public const int NoResponse = 3;

    /// <summary>The server answered with a 4.xx client error.</summary>
    public const int ClientError = 4;

    /// <summary>The server answered with a 5.xx server error.</summary>
    public const int ServerError = 5;

    /// <summary>Interrupted by Ctrl-C before a response arrived (128 + SIGINT).</summary>
    public const int Interrupted = 130;
}

/// <summary>An error to report as one line on stderr, ending the command with <see cref="ExitCode"/>.</summary>
internal sealed class CliException : Exception
{
    public CliException(int exitCode, string message)
        : base(message)
    {
        ExitCode = exitCode;
    }

    public CliException(int exitCode, string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    public CliException()
        : this(ExitCodes.Failure, "Command failed.")
    {
    }

    public CliException(string message)
        : this(ExitCodes.Failure, message)
    {
    }

    public CliException(string message, Exception innerException)
        : this(ExitCodes.Failure, message, innerException)
    {
    }

    public int ExitCode { get; }
}
