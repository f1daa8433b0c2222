namespace CoapEnroll.Hosting;

/// <summary>
/// Joins the words of a command line printed for a person to paste into a shell, quoting each word the shell would otherwise
/// split, expand or glob (a path with a space, an IPv6 literal in brackets): POSIX single quotes, or on Windows double quotes.
/// Every other word is printed as it is, so that ordinary hints stay readable.
/// </summary>
public static class ShellWords
{
    /// <summary>The words joined for this operating system's shells.</summary>
    public static string Join(params IEnumerable<string> words) => Join(words, OperatingSystem.IsWindows());

    /// <summary>The words joined for POSIX shells, or for cmd.exe and PowerShell when <paramref name="windows"/>.</summary>
    public static string Join(IEnumerable<string> words, bool windows)
    {
        ArgumentNullException.ThrowIfNull(words);
        return string.Join(' ', words.Select(w => Quote(w, windows)));
    }

    /// <summary>One word, quoted when a shell would not pass it through unchanged.</summary>
    public static string Quote(string word, bool windows)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word.Length > 0 && word.All(c => IsPlain(c) || (windows && c == '\\')))
        {
            return word;
        }

        // Inside POSIX single quotes nothing is special but the quote itself, which is closed, escaped and reopened.
        return windows ? QuoteForWindows(word) : $"'{word.Replace("'", "'\\''", StringComparison.Ordinal)}'";
    }

    /// <summary>
    /// Double quotes as Windows programs split their command line (CommandLineToArgvW): backslashes are literal except before a
    /// double quote, where 2n of them mean n, and 2n+1 mean n and a literal quote.
    /// </summary>
    private static string QuoteForWindows(string word)
    {
        var quoted = new System.Text.StringBuilder(word.Length + 2).Append('"');
        int backslashes = 0;
        foreach (char c in word)
        {
            if (c == '\\')
            {
                backslashes++;
                continue;
            }

            quoted.Append('\\', c == '"' ? (2 * backslashes) + 1 : backslashes).Append(c);
            backslashes = 0;
        }

        return quoted.Append('\\', 2 * backslashes).Append('"').ToString();
    }

    /// <summary>
    /// Characters no shell treats specially anywhere in a word but the first ('=' there would be an assignment). A backslash is a
    /// path separator on Windows and an escape in POSIX shells.
    /// </summary>
    private static bool IsPlain(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
        or '-' or '_' or '.' or '/' or ':' or '=' or '@' or '%' or '+' or ',';
}
