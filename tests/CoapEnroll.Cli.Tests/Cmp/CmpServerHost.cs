using System.Text.RegularExpressions;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// The host <c>coapenroll serve</c> runs (an <see cref="InProcessServer"/>: 127.0.0.1, ephemeral coap://, coaps:// and http://
/// ports, a temporary data directory), with two MAC references besides the demo one: <c>dev-1</c> (names bound: CN=dev-1) and
/// <c>manual</c> (profile <c>manual</c>, which waits for an operator, any name).
/// </summary>
public sealed partial class CmpServerHost : IAsyncDisposable
{
    public const string Dev1Secret = "dev-1-secret-2f8c";
    public const string ManualSecret = "manual-secret-77aa";
    public const string PskIdentity = "cmp-relay";

    /// <summary>The PSK as libcoap's <c>-k</c> takes it (text); the server is configured with its bytes in hex.</summary>
    public const string PskText = "cmp-relay-psk-0123";

    private readonly InProcessServer _server;

    private CmpServerHost(InProcessServer server)
    {
        _server = server;
    }

    public string DataDirectory => _server.DataDirectory;

    public string TrustAnchor => _server.TrustAnchorFile;

    public string IssuingCa => Path.Combine(DataDirectory, "ca", "issuing.pem");

    public string DemoCertificate => _server.DemoDeviceCertificateFile;

    public string DemoKey => _server.DemoDeviceKeyFile;

    public CertificationServices Certification => _server.Services.GetRequiredService<CertificationServices>();

    /// <summary>The demo MAC secret the first start created.</summary>
    public string DemoSecret => File.ReadAllText(Path.Combine(DataDirectory, "demo", "cmp-demo.secret")).Trim();

    public int HttpPort => (_server.Http.LocalEndPoint ?? throw new InvalidOperationException("HTTP is not listening.")).Port;

    public int HttpsPort => _server.HttpsPort;

    public int CoapPort => _server.Port;

    public int CoapsPort => _server.SecurePort;

    /// <summary>host:port/path as <c>openssl cmp -server</c> takes it.</summary>
    public string HttpServer(string path = "/.well-known/cmp") => $"127.0.0.1:{HttpPort}{path}";

    /// <summary>host:port/path of the https:// listener, for <c>openssl cmp -tls_used -server</c>.</summary>
    public string HttpsServer(string path = "/.well-known/cmp") => $"127.0.0.1:{HttpsPort}{path}";

    public Task<CoapEnroll.Cmp.CmpServer> GetCmpAsync() => Certification.GetCmpServerAsync(CancellationToken.None);

    public async Task<IReadOnlyList<StoredCertificate>> CertificatesAsync() =>
        await Certification.Store.ListCertificatesAsync(10_000, CancellationToken.None);

    /// <summary>
    /// Waits (up to 20 s) until <c>requests list</c> shows a pending request, and approves it with <c>requests approve</c> under the
    /// <c>manual</c> profile's settings; asserts that <paramref name="client"/> was still waiting for it, and that the list showed the
    /// operator the subject <paramref name="subject"/> the CMP request (CRMF, not PKCS#10) asks for.
    /// </summary>
    public async Task ApprovePendingAsync(Task client, string subject)
    {
        string? id = null;
        CliResult? list = null;
        for (int i = 0; i < 100 && id is null; i++)
        {
            await Task.Delay(200);
            list = await CliRunner.RunAsync(["requests", "list", "--data", DataDirectory]);
            id = PendingRow().Match(list.Output) is { Success: true } m ? m.Groups["id"].Value : null;
        }

        Assert.NotNull(id);
        string row = list!.Output.Split('\n').First(l => l.StartsWith(id + "\t", StringComparison.Ordinal));
        Assert.True(row.Split('\t').Contains(subject), row);
        Assert.False(client.IsCompleted, "the client stopped before the approval");
        CliResult approve = await CliRunner.RunAsync(["requests", "approve", id, "--data", DataDirectory,
            "--Ca:Profiles:manual:RequiresApproval=true", "--Ca:Profiles:manual:NamePolicy=AnyName"]);
        Assert.True(approve.ExitCode == 0, approve.Describe());
    }

    public static async Task<CmpServerHost> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Est:PendingRetryAfter"] = "00:00:01",
            [$"Dtls:Psk:{PskIdentity}"] = Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(PskText)),
            ["Cmp:SharedSecrets:dev-1:Secret"] = Dev1Secret,
            ["Cmp:SharedSecrets:manual:Secret"] = ManualSecret,
            ["Cmp:SharedSecrets:manual:Profile"] = "manual",
            ["Cmp:SharedSecrets:manual:AnyName"] = "true",
            ["Ca:Profiles:manual:RequiresApproval"] = "true",
            ["Ca:Profiles:manual:NamePolicy"] = "AnyName",
        };
        foreach (var setting in settings ?? new Dictionary<string, string?>())
        {
            all[setting.Key] = setting.Value;
        }

        return new CmpServerHost(await InProcessServer.StartAsync(all));
    }

    /// <summary>As <see cref="StartAsync"/> with the issuing CA's key on a new SoftHSM2 token (<see cref="InProcessServer.TokenSettingsAsync"/>).</summary>
    public static async Task<CmpServerHost> StartOnTokenAsync() => await StartAsync(await InProcessServer.TokenSettingsAsync());

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    [GeneratedRegex(@"^(?<id>\d+)\t", RegexOptions.Multiline)]
    private static partial Regex PendingRow();
}
