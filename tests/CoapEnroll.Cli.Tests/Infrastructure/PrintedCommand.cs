using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Hosting;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>A command line a program printed for a person to paste: run by <c>sh</c> exactly as printed, or split into its words as sh would.</summary>
public static class PrintedCommand
{
    /// <summary>Runs <paramref name="commandLine"/> with <c>sh -c</c> in <paramref name="workingDirectory"/>, as a person pasting it there would.</summary>
    public static Task<ProcessResult> RunAsync(string commandLine, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
        => ExternalProcess.RunAsync("sh", ["-c", $"{ShellWords.Join(["cd", workingDirectory], windows: false)} && {commandLine}"], timeout ?? TimeSpan.FromSeconds(120),
            environment: environment);

    /// <summary>
    /// Runs the coapenroll commands serve printed at its first start (the "Try:" lines and the demo device's enrollment) exactly as
    /// printed, with <c>sh</c> in <paramref name="scratch"/>, and checks that each succeeds and that the enrollment wrote the demo
    /// device's certificate there. Returns the enroll command.
    /// </summary>
    public static async Task<string> AssertServeHintsRunAsync(ServeProcess server, string scratch, IReadOnlyDictionary<string, string>? environment = null)
    {
        string enroll = await server.WaitForLogAsync("Enroll the demo device: ");
        string[] tries = [.. server.Output.Split('\n').Where(l => l.Contains(TryLabel, StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(TryLabel, StringComparison.Ordinal) + TryLabel.Length)..].TrimEnd('\r'))];
        Assert.True(tries.Length == 2, $"serve printed {tries.Length} 'Try:' commands, not coap:// and coaps://:{Environment.NewLine}{server.Output}");
        foreach (string command in tries)
        {
            ProcessResult tried = await RunAsync(command, scratch, environment);
            Assert.True(tried.ExitCode == 0 && tried.StandardOutput.Contains("2.05 Content", StringComparison.Ordinal),
                $"{tried.Describe()}{Environment.NewLine}{server.Output}");
        }

        ProcessResult enrolled = await RunAsync(enroll, scratch, environment);
        Assert.True(enrolled.ExitCode == 0, $"{enrolled.Describe()}{Environment.NewLine}{server.Output}");
        using X509Certificate2 issued = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(scratch, "dev.pem")));
        Assert.Equal("CN=demo-device-1", issued.Subject);
        return enroll;
    }

    private const string TryLabel = "Try: ";

    /// <summary>
    /// The words of a printed command line as a POSIX shell splits them: at spaces, with single-quoted parts taken literally and a
    /// backslash escaping the next character outside them (what <see cref="ShellWords"/> produces; nothing it does not, such as $).
    /// </summary>
    public static IReadOnlyList<string> Split(string commandLine)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < commandLine.Length; i++)
        {
            char c = commandLine[i];
            if (c == ' ')
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                continue;
            }

            inWord = true;
            if (c == '\'')
            {
                int end = commandLine.IndexOf('\'', i + 1);
                Assert.True(end > i, $"unbalanced quote in: {commandLine}");
                word.Append(commandLine, i + 1, end - i - 1);
                i = end;
            }
            else if (c == '\\' && i + 1 < commandLine.Length)
            {
                word.Append(commandLine[++i]);
            }
            else
            {
                word.Append(c);
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }
}
