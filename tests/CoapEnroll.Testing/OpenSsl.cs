using System.ComponentModel;
using System.Diagnostics;

namespace CoapEnroll.Testing;

/// <summary>Runs the real openssl binary; a missing binary fails the test with a clear message (never skips).</summary>
public static class OpenSsl
{
    public static async Task<string> RunAsync(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("openssl did not start");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"the openssl binary is required by this test but was not found on PATH (bash scripts/test.sh installs it): {ex.Message}", ex);
        }

        using (process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            string output = await stdout;
            string error = await stderr;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"openssl {string.Join(' ', arguments)} exited {process.ExitCode}: {error}{output}");
            }

            return output + error;
        }
    }
}
