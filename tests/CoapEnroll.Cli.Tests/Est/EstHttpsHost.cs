using System.Globalization;
using System.Text.RegularExpressions;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// The host <c>coapenroll serve</c> runs (an <see cref="InProcessServer"/>: 127.0.0.1, ephemeral ports, a temporary data directory),
/// with a working directory for curl and openssl and the commands the EST-over-HTTPS tests run: <c>curl</c> with the demo root as
/// <c>--cacert</c>, <c>openssl</c> for CSRs and checks. Profile <c>manual</c> waits for an operator and issues any name.
/// </summary>
public sealed partial class EstHttpsHost : IAsyncDisposable
{
    private readonly InProcessServer _server;

    private EstHttpsHost(InProcessServer server)
    {
        _server = server;
        Directory.CreateDirectory(WorkingDirectory);
    }

    public string WorkingDirectory { get; } = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "est-https-" + Guid.NewGuid().ToString("N"));

    public string DataDirectory => _server.DataDirectory;

    public string TrustAnchor => _server.TrustAnchorFile;

    public string IssuingCa => Path.Combine(DataDirectory, "ca", "issuing.pem");

    public string DemoCertificate => _server.DemoDeviceCertificateFile;

    public string DemoKey => _server.DemoDeviceKeyFile;

    public int HttpsPort => _server.HttpsPort;

    public int CoapsPort => _server.SecurePort;

    /// <summary>The demo CMP shared secret (reference <c>demo</c>) the first start wrote.</summary>
    public string DemoCmpSecret => System.IO.File.ReadAllText(Path.Combine(DataDirectory, "demo", "cmp-demo.secret")).Trim();

    public int HttpPort => (_server.Http.LocalEndPoint ?? throw new InvalidOperationException("HTTP is not listening.")).Port;

    public ICertificateStore Store => _server.Services.GetRequiredService<CertificationServices>().Store;

    public string File(string name) => Path.Combine(WorkingDirectory, name);

    /// <summary>https://127.0.0.1:PORT/.well-known/est/ followed by <paramref name="path"/>.</summary>
    public string Url(string path) => $"https://127.0.0.1:{HttpsPort.ToString(CultureInfo.InvariantCulture)}/.well-known/est/{path}";

    public static async Task<EstHttpsHost> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Est:PendingRetryAfter"] = "00:00:01",
            ["Ca:Profiles:manual:RequiresApproval"] = "true",
            ["Ca:Profiles:manual:NamePolicy"] = "AnyName",
        };
        foreach (var setting in settings ?? new Dictionary<string, string?>())
        {
            all[setting.Key] = setting.Value;
        }

        return new EstHttpsHost(await InProcessServer.StartAsync(all));
    }

    /// <summary>As <see cref="StartAsync"/> with the issuing CA's key on a new SoftHSM2 token (<see cref="InProcessServer.TokenSettingsAsync"/>).</summary>
    public static async Task<EstHttpsHost> StartOnTokenAsync() => await StartAsync(await InProcessServer.TokenSettingsAsync());

    /// <summary>The running host's certification services (the hierarchy and its issuing key).</summary>
    internal CertificationServices Certification => _server.Services.GetRequiredService<CertificationServices>();

    /// <summary>openssl, never throwing for a non-zero exit.</summary>
    public Task<ProcessResult> OpenSslAsync(params string[] arguments) =>
        ExternalProcess.RunAsync(RequiredTool.Find("openssl", "openssl"), arguments, TimeSpan.FromSeconds(60));

    /// <summary>openssl that must succeed.</summary>
    public async Task<ProcessResult> MustOpenSslAsync(params string[] arguments)
    {
        ProcessResult result = await OpenSslAsync(arguments);
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    /// <summary>A new P-256 key NAME.key and a CSR for <paramref name="subject"/> from <c>openssl req</c>, base64 (as EST sends it) in NAME.b64.</summary>
    public async Task<string> NewCsrAsync(string name, string subject)
    {
        await MustOpenSslAsync("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", File(name + ".key"),
            "-subj", subject, "-outform", "DER", "-out", File(name + ".der"));
        System.IO.File.WriteAllText(File(name + ".b64"), Convert.ToBase64String(System.IO.File.ReadAllBytes(File(name + ".der")), Base64FormattingOptions.InsertLineBreaks));
        return File(name + ".b64");
    }

    /// <summary>
    /// curl against <paramref name="path"/> under /.well-known/est/ with <paramref name="arguments"/>; the body lands in NAME.out and the
    /// headers in NAME.headers; returns the status (0 when curl itself failed, e.g. at the TLS handshake).
    /// </summary>
    public async Task<CurlAnswer> CurlAsync(string name, string path, params string[] arguments)
    {
        ProcessResult result = await ExternalProcess.RunAsync(RequiredTool.Find("curl", "curl"),
            ["-sS", "--cacert", TrustAnchor, "-o", File(name + ".out"), "-D", File(name + ".headers"), "-w", "%{http_code}", .. arguments, Url(path)],
            TimeSpan.FromSeconds(60));
        string body = System.IO.File.Exists(File(name + ".out")) ? System.IO.File.ReadAllText(File(name + ".out")) : "";
        string headers = System.IO.File.Exists(File(name + ".headers")) ? System.IO.File.ReadAllText(File(name + ".headers")) : "";
        int status = int.TryParse(result.StandardOutput.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s : 0;
        return new CurlAnswer(status, headers, body, File(name + ".out"), result);
    }

    /// <summary>POSTs the base64 CSR file with <c>Content-Type: application/pkcs10</c> and the client certificate (and more curl options).</summary>
    public Task<CurlAnswer> PostCsrAsync(string name, string path, string csrFile, string? certificate, string? key, params string[] more) =>
        CurlAsync(name, path, [.. certificate is null ? [] : (string[])["--cert", certificate, "--key", key!], "-H", "Content-Type: application/pkcs10",
            "--data-binary", "@" + csrFile, .. more]);

    /// <summary>base64 DER (line breaks allowed) from <paramref name="file"/> into NAME (DER).</summary>
    public string DecodeBase64(string file, string name)
    {
        System.IO.File.WriteAllBytes(File(name), Convert.FromBase64String(System.IO.File.ReadAllText(file)));
        return File(name);
    }

    /// <summary><c>openssl pkcs7 -print_certs</c> of a DER certs-only file into NAME.pem; returns the PEM path and openssl's text.</summary>
    public async Task<(string Pem, string Text)> PrintCertsAsync(string der, string name)
    {
        ProcessResult result = await MustOpenSslAsync("pkcs7", "-inform", "DER", "-in", der, "-print_certs", "-out", File(name + ".pem"));
        return (File(name + ".pem"), System.IO.File.ReadAllText(File(name + ".pem")) + result.StandardOutput);
    }

    /// <summary><c>openssl verify</c> against the demo root with the issuing CA as intermediate.</summary>
    public async Task VerifyAsync(string certificate)
    {
        ProcessResult result = await OpenSslAsync("verify", "-CAfile", TrustAnchor, "-untrusted", IssuingCa, certificate);
        Assert.True(result.ExitCode == 0 && result.StandardOutput.Contains(": OK", StringComparison.Ordinal), result.Describe());
    }

    /// <summary>Waits until <c>requests list</c> shows a pending request and approves it with <c>requests approve</c>.</summary>
    public async Task ApprovePendingAsync()
    {
        string? id = null;
        for (int i = 0; i < 100 && id is null; i++)
        {
            CliResult list = await CliRunner.RunAsync(["requests", "list", "--data", DataDirectory]);
            id = PendingRow().Match(list.Output) is { Success: true } m ? m.Groups["id"].Value : null;
            if (id is null)
            {
                await Task.Delay(100);
            }
        }

        Assert.NotNull(id);
        CliResult approve = await CliRunner.RunAsync(["requests", "approve", id, "--data", DataDirectory,
            "--Ca:Profiles:manual:RequiresApproval=true", "--Ca:Profiles:manual:NamePolicy=AnyName"]);
        Assert.True(approve.ExitCode == 0, approve.Describe());
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        try
        {
            Directory.Delete(WorkingDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"^(?<id>\d+)\t", RegexOptions.Multiline)]
    private static partial Regex PendingRow();
}
