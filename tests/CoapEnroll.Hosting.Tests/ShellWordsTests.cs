using System.Diagnostics;

namespace CoapEnroll.Hosting.Tests;

/// <summary>The quoting of printed command lines: plain words stay as they are, and what a shell would change comes out of it unchanged.</summary>
public sealed class ShellWordsTests
{
    [Fact]
    public void Plain_words_are_printed_as_they_are()
    {
        Assert.Equal("coapenroll est enroll --server coaps://127.0.0.1:5684 --subject CN=demo-device-1 --out /tmp/data/dev.pem",
            ShellWords.Join(["coapenroll", "est", "enroll", "--server", "coaps://127.0.0.1:5684", "--subject", "CN=demo-device-1", "--out", "/tmp/data/dev.pem"], windows: false));
    }

    [Theory]
    [InlineData("/home/a user/data/trust-anchor.pem", "'/home/a user/data/trust-anchor.pem'")]
    [InlineData("coaps://[::1]:5684", "'coaps://[::1]:5684'")]
    [InlineData("it's", @"'it'\''s'")]
    [InlineData("", "''")]
    public void Posix_quotes_what_a_shell_would_split_or_expand(string word, string quoted)
        => Assert.Equal(quoted, ShellWords.Quote(word, windows: false));

    [Theory]
    [InlineData(@"C:\Users\a user\data\trust-anchor.pem", "\"C:\\Users\\a user\\data\\trust-anchor.pem\"")]
    [InlineData(@"C:\data\dev.pem", @"C:\data\dev.pem")]
    [InlineData(@"C:\a b\", "\"C:\\a b\\\\\"")]
    [InlineData("say \"hi\"", "\"say \\\"hi\\\"\"")]
    public void Windows_quotes_as_CommandLineToArgvW_reads_it(string word, string quoted)
        => Assert.Equal(quoted, ShellWords.Quote(word, windows: true));

    [Fact]
    public async Task Every_word_reaches_a_program_unchanged_through_sh()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // sh is the POSIX side's check; the Windows rules are checked above.
        }

        string[] words = ["/home/a user/data/trust-anchor.pem", "coaps://[::1]:5684", "it's", "$HOME", "`id`", "*", "~", "a\\b", "x;y", "a\"b", "", "tab\there",
            "CN=demo-device-1", "new\nline", "!"];
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(ShellWords.Join(["printf", "%s\\0", .. words], windows: false));
        using Process sh = Process.Start(info)!;
        string output = await sh.StandardOutput.ReadToEndAsync();
        await sh.WaitForExitAsync();

        Assert.Equal(0, sh.ExitCode);
        Assert.Equal(words, output.Split('\0')[..^1]);
    }

    [Fact]
    public void A_prefix_formats_the_whole_command_line()
    {
        var prefix = new CommandLinePrefix("dotnet", "run", "--no-build", "--project", "/src/my projects/CoapEnroll.Cli", "--");
        string expected = OperatingSystem.IsWindows()
            ? "dotnet run --no-build --project \"/src/my projects/CoapEnroll.Cli\" -- requests list"
            : "dotnet run --no-build --project '/src/my projects/CoapEnroll.Cli' -- requests list";
        Assert.Equal(expected, prefix.Format("requests", "list"));
        Assert.Equal("coapenroll est enroll", CommandLinePrefix.Default.Format("est", "enroll"));
        Assert.Throws<ArgumentException>(() => new CommandLinePrefix());
    }
}
