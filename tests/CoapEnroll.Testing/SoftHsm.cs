using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CoapEnroll.Testing;

/// <summary>
/// SoftHSM2 (Debian softhsm2) as a PKCS#11 token for tests: one configuration per test process whose token directory is a fresh
/// temporary folder, and tokens initialised there with softhsm2-util. SOFTHSM2_CONF is set in the native environment of this
/// process (the module reads it with getenv when it is loaded) and in .NET's, which child processes inherit. A missing
/// softhsm2-util or module fails the test with the package to install (scripts/test.sh installs it), never skips it.
/// </summary>
public static class SoftHsm
{
    /// <summary>Where Debian's softhsm2 package puts the module.</summary>
    public const string ModulePath = "/usr/lib/softhsm/libsofthsm2.so";

    /// <summary>The security officer PIN of every test token.</summary>
    public const string SoPin = "12345678";

    private static readonly Lazy<string> s_configuration = new(CreateConfiguration, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The SOFTHSM2_CONF file of this process (created on first use).</summary>
    public static string ConfigurationFile => s_configuration.Value;

    /// <summary>Initialises a new token labelled <paramref name="label"/> with user PIN <paramref name="userPin"/> in the first free slot.</summary>
    public static async Task InitTokenAsync(string label, string userPin)
    {
        if (!File.Exists(ModulePath))
        {
            throw new InvalidOperationException($"{ModulePath} is missing: install the Debian package softhsm2 (bash scripts/test.sh does)");
        }

        await RunUtilAsync("--init-token", "--free", "--label", label, "--pin", userPin, "--so-pin", SoPin);
    }

    /// <summary>Runs softhsm2-util with this process's configuration.</summary>
    public static async Task<string> RunUtilAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("softhsm2-util")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["SOFTHSM2_CONF"] = ConfigurationFile;
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("softhsm2-util did not start");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"softhsm2-util is required by this test but was not found on PATH: install the Debian package softhsm2 (bash scripts/test.sh does): {ex.Message}", ex);
        }

        using (process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            string output = await stdout + await stderr;
            return process.ExitCode == 0 ? output : throw new InvalidOperationException($"softhsm2-util {string.Join(' ', arguments)} exited {process.ExitCode}: {output}");
        }
    }

    private static string CreateConfiguration()
    {
        string directory = Directory.CreateTempSubdirectory("coapenroll-softhsm-").FullName;
        string tokens = Path.Combine(directory, "tokens");
        Directory.CreateDirectory(tokens);
        string file = Path.Combine(directory, "softhsm2.conf");
        File.WriteAllText(file, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
        Environment.SetEnvironmentVariable("SOFTHSM2_CONF", file);
        // .NET keeps its own copy of the environment; the module, loaded into this process, reads the C library's.
        if (SetEnv("SOFTHSM2_CONF", file, 1) != 0)
        {
            throw new InvalidOperationException("setenv(SOFTHSM2_CONF) failed");
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return file;
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in this project for one call.
    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SetEnv(string name, string value, int overwrite);
#pragma warning restore SYSLIB1054
}
