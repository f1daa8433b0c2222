using System.Net;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Tests.Cmp;

/// <summary>
/// The host <c>coapenroll serve</c> runs, in-process on 127.0.0.1 with ephemeral coap://, coaps:// and http:// ports and a
/// temporary data directory, with two MAC references besides the demo one: <c>dev-1</c> (names bound: CN=dev-1) and
/// <c>manual</c> (profile <c>manual</c>, which waits for an operator, any name).
/// </summary>
public sealed class CmpServerHost : IAsyncDisposable
{
    public const string Dev1Secret = "dev-1-secret-2f8c";
    public const string ManualSecret = "manual-secret-77aa";
    public const string PskIdentity = "cmp-relay";
    /// <summary>The PSK as libcoap's <c>-k</c> takes it (text); the server is configured with its bytes in hex.</summary>
    public const string PskText = "cmp-relay-psk-0123";

    private readonly IHost _host;

    private CmpServerHost(IHost host, string dataDirectory)
    {
        _host = host;
        DataDirectory = dataDirectory;
    }

    public string DataDirectory { get; }

    public string TrustAnchor => Path.Combine(DataDirectory, "trust-anchor.pem");

    public string IssuingCa => Path.Combine(DataDirectory, "ca", "issuing.pem");

    public string DemoCertificate => Path.Combine(DataDirectory, "demo", "device.pem");

    public string DemoKey => Path.Combine(DataDirectory, "demo", "device.key");

    public CertificationServices Certification => _host.Services.GetRequiredService<CertificationServices>();

    /// <summary>The demo MAC secret the first start created.</summary>
    public string DemoSecret => File.ReadAllText(Path.Combine(DataDirectory, "demo", "cmp-demo.secret")).Trim();

    public int HttpPort => (_host.Services.GetRequiredService<HttpServerService>().LocalEndPoint ?? throw new InvalidOperationException("HTTP is not listening.")).Port;

    public int CoapPort => (Service.LocalEndPoint ?? throw new InvalidOperationException("coap:// is not listening.")).Port;

    public int CoapsPort => (Service.SecureLocalEndPoint ?? throw new InvalidOperationException("coaps:// is not listening.")).Port;

    /// <summary>host:port/path as <c>openssl cmp -server</c> takes it.</summary>
    public string HttpServer(string path = "/.well-known/cmp") => $"127.0.0.1:{HttpPort}{path}";

    private CoapServerService Service => _host.Services.GetRequiredService<CoapServerService>();

    public Task<CoapEnroll.Cmp.CmpServer> GetCmpAsync() => Certification.GetCmpServerAsync(CancellationToken.None);

    public async Task<IReadOnlyList<StoredCertificate>> CertificatesAsync() =>
        await Certification.Store.ListCertificatesAsync(10_000, CancellationToken.None);

    public static async Task<CmpServerHost> StartAsync(IDictionary<string, string?>? settings = null)
    {
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "cmp-" + Guid.NewGuid().ToString("N"));
        var all = new Dictionary<string, string?>
        {
            ["Coap:Bind"] = "127.0.0.1",
            ["Coap:Port"] = "0",
            ["Dtls:Port"] = "0",
            ["Http:Bind"] = "127.0.0.1",
            ["Http:Port"] = "0",
            ["DataDirectory"] = data,
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

        var builder = ServeHost.CreateBuilder(all);
        builder.Logging.ClearProviders();
        IHost host = builder.Build();
        await host.StartAsync();
        return new CmpServerHost(host, data);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
