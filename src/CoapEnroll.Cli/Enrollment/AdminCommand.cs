using System.CommandLine;
using System.Globalization;
using CoapEnroll.Hosting;

namespace CoapEnroll.Cli.Enrollment;

/// <summary>
/// <c>coapenroll admin hash-password [--password-file FILE] [--iterations N]</c>: the value for <c>Admin:PasswordHash</c>, the
/// operator page's password (<see cref="AdminPasswordHash"/>, PBKDF2-HMAC-SHA512 with a new random salt). The password is read
/// from the first line of FILE or of standard input, never from the command line, where other users of the machine see it.
/// </summary>
internal static class AdminCommand
{
    public static Command Create()
    {
        var admin = new Command("admin", "Set up the operator web page (https://HOST:8443/admin/, off unless Admin:Enabled=true).");
        var file = new Option<string?>("--password-file") { Description = "Read the password from the first line of FILE (default: standard input)", HelpName = "FILE" };
        var iterations = new Option<int>("--iterations")
        {
            Description = $"PBKDF2 iterations ({AdminPasswordHash.MinIterations}..{AdminPasswordHash.MaxIterations})",
            HelpName = "N",
            DefaultValueFactory = _ => AdminPasswordHash.DefaultIterations,
        };
        var hash = new Command("hash-password", "Print the Admin:PasswordHash value for a password read from standard input or --password-file.") { file, iterations };
        hash.SetAction(async (parseResult, cancellationToken) =>
        {
            int count = parseResult.GetValue(iterations);
            if (count is < AdminPasswordHash.MinIterations or > AdminPasswordHash.MaxIterations)
            {
                throw new CliException(ExitCodes.Usage, $"--iterations {count.ToString(CultureInfo.InvariantCulture)} is outside {AdminPasswordHash.MinIterations}..{AdminPasswordHash.MaxIterations}.");
            }

            string? line;
            if (parseResult.GetValue(file) is { } path)
            {
                try
                {
                    using var reader = new StreamReader(path);
                    line = await reader.ReadLineAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new CliException(ExitCodes.Usage, $"--password-file: cannot read '{path}': {ex.Message}", ex);
                }
            }
            else
            {
                line = await Console.In.ReadLineAsync(cancellationToken);
            }

            if (string.IsNullOrEmpty(line))
            {
                throw new CliException(ExitCodes.Usage, "No password: give it on the first line of standard input or of --password-file.");
            }

            await parseResult.InvocationConfiguration.Output.WriteLineAsync(AdminPasswordHash.Create(line, count));
            return ExitCodes.Success;
        });
        admin.Subcommands.Add(hash);
        return admin;
    }
}
