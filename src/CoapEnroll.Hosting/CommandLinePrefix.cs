namespace CoapEnroll.Hosting;

/// <summary>
/// How a person runs this program again, as the commands the host prints (the hints of the first start) begin: <c>coapenroll</c>
/// for an installed tool, <c>dotnet run --project src/CoapEnroll.Cli --</c> from a source tree, <c>dotnet path/coapenroll.dll</c>.
/// Which one is the program's to decide (CoapEnroll.Cli registers it); a host without one prints <see cref="Default"/>.
/// </summary>
public sealed class CommandLinePrefix
{
    /// <param name="words">The program and the arguments that come before the command's own, unquoted.</param>
    public CommandLinePrefix(params IEnumerable<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        Words = [.. words];
        if (Words.Count == 0)
        {
            throw new ArgumentException("A command line needs a program.", nameof(words));
        }
    }

    /// <summary><c>coapenroll</c>: the tool's command, as installed on PATH.</summary>
    public static CommandLinePrefix Default { get; } = new("coapenroll");

    /// <summary>The program and the arguments before the command's own, unquoted.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>The whole command line for <paramref name="arguments"/> (e.g. <c>est</c>, <c>enroll</c>, …), quoted for a shell (<see cref="ShellWords"/>).</summary>
    public string Format(params IEnumerable<string> arguments) => ShellWords.Join([.. Words, .. arguments]);

    /// <summary>The prefix alone, quoted for a shell.</summary>
    public override string ToString() => ShellWords.Join(Words);
}
