using System.Text.RegularExpressions;

namespace CoapEnroll.Cli;

/// <summary>
/// The <c>--Key=value</c> arguments that <c>serve</c> and <c>requests</c> pass to Microsoft.Extensions.Configuration's
/// command line provider, told apart from arguments that are simply wrong.
/// </summary>
internal static partial class ConfigurationArguments
{
    /// <summary>
    /// Throws a usage error naming the first of <paramref name="tokens"/> that is not <c>[--|/]Section:Key=value</c>.
    /// A key segment may hold any character but <c>:</c> and <c>=</c>: keys such as PSK identities are opaque strings
    /// (RFC 4279 §5.1), so <c>--Dtls:Psk:device-7@site.example=…</c> is as valid as <c>--Coap:Port=5683</c>.
    /// </summary>
    public static void ThrowOnUnrecognized(IEnumerable<string> tokens, string command)
    {
        foreach (string token in tokens)
        {
            if (!Pattern().IsMatch(token))
            {
                throw new CliException(ExitCodes.Usage, $"Unrecognized argument '{token}' for {command} (configuration keys are written --Key=value).");
            }
        }
    }

    // A segment may not start with '-' or '/' where the prefix is optional, so a mistyped option such as '---port=1' or
    // '-x=1' is reported rather than taken as a key.
    [GeneratedRegex(@"^(--|/)?[^:=\-/\s][^:=]*(:[^:=]+)*=.*$", RegexOptions.Singleline)]
    private static partial Regex Pattern();
}
