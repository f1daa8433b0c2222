using System.Diagnostics;
using System.Globalization;
using System.Text;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Interop;

/// <summary>
/// The server's key log (<c>Dtls:KeyLogFile</c>, NSS format) lets tshark decrypt a captured coaps exchange: the
/// Uri-Path inside the DTLS session is visible with the key log and hidden without it. Capturing on the
/// loopback interface needs root (CI runs as root).
/// </summary>
public class TsharkDecryptionTests
{
    private const string TsharkPackage = "tshark";

    [Fact]
    [Trait("Needs", "dtls")]
    [Trait("Needs", "tshark")]
    public async Task KeyLog_LetsTsharkDecryptTheCoapsExchange()
    {
        string tshark = RequiredTool.Find("tshark", TsharkPackage);
        string dir = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "tshark-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string keyLog = Path.Combine(dir, "keys.log");
        string capture = Path.Combine(dir, "capture.pcapng");
        try
        {
            await using var server = await InProcessServer.StartAsync(new Dictionary<string, string?> { ["Dtls:KeyLogFile"] = keyLog });
            string port = server.SecurePort.ToString(CultureInfo.InvariantCulture);

            var output = new StringBuilder();
            using var capturing = ExternalProcess.StartCollecting(tshark, ["-i", "lo", "-f", $"udp port {port}", "-w", capture], output);
            try
            {
                await WaitForAsync(() => Snapshot(output).Contains("Capturing on", StringComparison.Ordinal) || capturing.HasExited, TimeSpan.FromSeconds(15));
                Assert.False(capturing.HasExited, $"tshark exited before capturing (capturing on lo needs root):{Environment.NewLine}{Snapshot(output)}");
                Assert.True(Snapshot(output).Contains("Capturing on", StringComparison.Ordinal), $"tshark did not start capturing:{Environment.NewLine}{Snapshot(output)}");

                // "Capturing on" can come before packets are seen (a busy machine): probe with junk datagrams, which the
                // DTLS server drops silently, until the capture file grows past its headers.
                long empty = new FileInfo(capture).Exists ? new FileInfo(capture).Length : 0;
                using (var probe = new System.Net.Sockets.UdpClient())
                {
                    await WaitForAsync(() =>
                    {
                        probe.Send([0xff], 1, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.SecurePort));
                        Thread.Sleep(100);
                        var info = new FileInfo(capture);
                        return info.Exists && info.Length > Math.Max(empty, 0);
                    }, TimeSpan.FromSeconds(10));
                }

                var get = await LibCoap.RunDtlsClientAsync("openssl", 10, "-R", server.TrustAnchorFile, "-m", "get", server.SecureUri("/whoami"));
                Assert.True(get.ExitCode == 0 && get.StandardOutput.Contains("authentication: anonymous", StringComparison.Ordinal), get.Describe());
            }
            finally
            {
                await StopAsync(capturing);
            }

            Assert.True(File.Exists(capture), $"No capture file.{Environment.NewLine}{Snapshot(output)}");
            Assert.True(File.Exists(keyLog) && (await File.ReadAllTextAsync(keyLog)).StartsWith("CLIENT_RANDOM ", StringComparison.Ordinal), "The server wrote no key log.");

            // DTLS on this port, and CoAP inside DTLS on it (tshark knows only 5684 by default).
            string[] read = ["-r", capture, "-d", $"udp.port=={port},dtls", "-d", $"dtls.port=={port},coap", "-Y", "coap", "-T", "fields", "-e", "coap.opt.uri_path"];
            var decrypted = await ExternalProcess.RunAsync(tshark, ["-o", $"tls.keylog_file:{keyLog}", .. read], TimeSpan.FromSeconds(30));
            var withoutKeys = await ExternalProcess.RunAsync(tshark, read, TimeSpan.FromSeconds(30));

            if (!(decrypted.ExitCode == 0 && decrypted.StandardOutput.Split('\n').Any(line => line.Trim() == "whoami")))
            {
                var summary = await ExternalProcess.RunAsync(tshark, ["-r", capture, "-o", $"tls.keylog_file:{keyLog}", "-d", $"udp.port=={port},dtls"], TimeSpan.FromSeconds(30));
                Assert.Fail($"{decrypted.Describe()}{Environment.NewLine}Capture:{Environment.NewLine}{summary.StandardOutput}{Environment.NewLine}tshark:{Environment.NewLine}{Snapshot(output)}");
            }

            Assert.True(withoutKeys.ExitCode == 0 && !withoutKeys.StandardOutput.Contains("whoami", StringComparison.Ordinal), withoutKeys.Describe());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }

    /// <summary>Stops tshark with SIGINT so that it finishes the capture file; kills it when that does not work within 10 s.</summary>
    private static async Task StopAsync(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        // Let the last datagrams (the close_notify) reach the capture before stopping.
        await Task.Delay(500);
        await ExternalProcess.RunAsync("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            ExternalProcess.Kill(process);
            await process.WaitForExitAsync();
        }
    }
}
