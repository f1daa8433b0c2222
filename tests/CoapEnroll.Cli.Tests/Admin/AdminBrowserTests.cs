using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Admin;

/// <summary>The operator page in a real browser (headless Debian chromium): log in, approve what a waiting device asked for.</summary>
public sealed class AdminBrowserTests
{
    [Fact]
    [Trait("Needs", "chromium")]
    public async Task Chromium_LogsIn_ApprovesThePendingRequest_AndTheWaitingDeviceReceivesItsCertificate()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        CancellationToken cancellationToken = timeout.Token;
        await using AdminHost host = await AdminHost.StartAsync();
        InProcessServer server = host.Server;
        string directory = Path.Combine(server.DataDirectory, "device");
        Directory.CreateDirectory(directory);
        string key = Path.Combine(directory, "device.key"), certificate = Path.Combine(directory, "device.pem");

        // The device over EST-coaps: its request is held (5.03 with Max-Age 1), and it repeats it until it gets an answer.
        Task<CliResult> device = CliRunner.RunAsync(["est", "enroll", "--server", server.SecureUri("manual"), "--trust", server.TrustAnchorFile,
            "--cert", server.DemoDeviceCertificateFile, "--key", server.DemoDeviceKeyFile, "--subject", "CN=browser-approved-1", "--key-out", key,
            "--out", certificate, "--max-wait", "150"], cancellationToken);
        StoredRequest? pending = null;
        while (pending is null)
        {
            Assert.False(device.IsCompleted, device.IsCompleted ? (await device).Describe() : "");
            IReadOnlyList<StoredRequest> held = await host.Store.ListPendingRequestsAsync(10, cancellationToken);
            pending = held.Count > 0 ? held[0] : null;
            await Task.Delay(pending is null ? 100 : 0, cancellationToken);
        }

        await using HeadlessChromium browser = await HeadlessChromium.StartAsync(host.ServerKeyPin, cancellationToken);
        try
        {
            await browser.NavigateAsync(new Uri(host.BaseUri, "/admin/").ToString(), cancellationToken);
            Assert.Contains("Log in", await browser.TextAsync(cancellationToken), StringComparison.Ordinal);
            await browser.TypeAsync("#user", AdminHost.User, cancellationToken);
            await browser.TypeAsync("#password", AdminHost.Password, cancellationToken);
            await browser.ClickAndWaitForPageAsync("#login-button", cancellationToken);

            string dashboard = await browser.TextAsync(cancellationToken);
            Assert.Contains("CN=browser-approved-1", dashboard, StringComparison.Ordinal);
            Assert.Contains("Log out " + AdminHost.User, dashboard, StringComparison.Ordinal);
            await browser.ClickAndWaitForPageAsync($"#request-{pending.Id.ToString(CultureInfo.InvariantCulture)} button.approve", cancellationToken);
            string decided = await browser.TextAsync(cancellationToken);
            Assert.Contains($"Approved request {pending.Id.ToString(CultureInfo.InvariantCulture)}: issued CN=browser-approved-1", decided, StringComparison.Ordinal);
            Assert.Contains("No requests are waiting for approval.", decided, StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new InvalidOperationException($"{ex.Message}{Environment.NewLine}--- chromium ---{Environment.NewLine}{browser.Log}", ex);
        }

        CliResult enrolled = await device;
        Assert.True(enrolled.ExitCode == 0, enrolled.Describe());
        using X509Certificate2 issued = X509Certificate2.CreateFromPemFile(certificate, key);
        Assert.Equal("CN=browser-approved-1", issued.Subject);
        IReadOnlyList<AuditEntry> audit = await host.Store.ListAuditAsync(100, cancellationToken);
        Assert.Contains(audit, e => e.Action == "issue" && e.Actor == "operator:web:" + AdminHost.User);
    }
}
