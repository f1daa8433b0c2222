using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// A real DTLS peer process (openssl, gnutls) with captured output, a hard timeout, and an unconditional kill on
/// dispose. Missing binaries fail the test with a clear message (these interop tests must not skip).
/// </summary>
public sealed class ExternalPeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();

    private ExternalPeer(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { lock (_lock) { if (e.Data is not null) { _stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { lock (_lock) { if (e.Data is not null) { _stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string StandardOutput { get { lock (_lock) { return _stdout.ToString(); } } }

    public string StandardError { get { lock (_lock) { return _stderr.ToString(); } } }

    public string Output => "--- stdout ---\n" + StandardOutput + "--- stderr ---\n" + StandardError;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static string RequireBinary(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':'))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"Interop test needs '{name}' on PATH (Debian: openssl / gnutls-bin). It is not installed.");
        return name;
    }

    /// <param name="environment">Variables to set for the peer (e.g. OPENSSL_CONF), on top of ours.</param>
    public static ExternalPeer Start(string binary, string arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(RequireBinary(binary), arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return new ExternalPeer(Process.Start(info) ?? throw new InvalidOperationException("Process did not start."));
    }

    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteAsync(line + "\n");
        await _process.StandardInput.FlushAsync();
    }

    public void CloseInput() => _process.StandardInput.Close();

    /// <summary>Waits until stdout or stderr contains <paramref name="text"/>; fails with the captured output on timeout.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (StandardOutput.Contains(text, StringComparison.Ordinal) || StandardError.Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"Timed out waiting for '{text}' from the peer.\n{Output}");
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public static int FreeUdpPort()
    {
        using var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.Client.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await WaitForExitAsync(TimeSpan.FromSeconds(5));
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
