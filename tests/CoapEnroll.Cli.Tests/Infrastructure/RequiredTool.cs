namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>
/// Finds external programs the interop tests need. A missing one fails the test (never skips it),
/// pointing at the script that installs it.
/// </summary>
public static class RequiredTool
{
    public static string Find(string name, string debianPackage)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"'{name}' is not installed. Run the tests with `bash scripts/test.sh`, which installs the Debian package {debianPackage} "
            + $"(or install it yourself: apt-get install {debianPackage}).");
        return name;
    }
}
