using System.Net;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>
/// The host <c>coapenroll serve</c> runs, started in-process on 127.0.0.1 with ephemeral coap and coaps
/// ports and a temporary data directory (where the CA bootstrap creates the demo credentials).
/// </summary>
public sealed class InProcessServer : IAsyncDisposable
{
    private readonly IHost _host;

    private InProcessServer(IHost host, string dataDirectory)
    {
        _host = host;
        DataDirectory = dataDirectory;
        Service = host.Services.GetRequiredService<CoapServerService>();
        Diagnostics = host.Services.GetRequiredService<DiagnosticResources>();
        Http = host.Services.GetRequiredService<HttpServerService>();
        Https = host.Services.GetRequiredService<HttpsServerService>();
    }

    /// <summary>The HTTPS listener (a free port too); <see cref="HttpsServerService.LocalUri"/> is its address.</summary>
    internal HttpsServerService Https { get; }

    /// <summary>The https:// port.</summary>
    public int HttpsPort => (Https.LocalEndPoint ?? throw new InvalidOperationException("HTTPS is not listening.")).Port;

    /// <summary>The HTTP listener (a free port too); <see cref="HttpServerService.LocalUri"/> is its address.</summary>
    internal HttpServerService Http { get; }

    internal CoapServerService Service { get; }

    /// <summary>The host's container, for tests that need a service the host composed.</summary>
    internal IServiceProvider Services => _host.Services;

    internal DiagnosticResources Diagnostics { get; }

    public string DataDirectory { get; }

    public IPEndPoint EndPoint => Service.LocalEndPoint ?? throw new InvalidOperationException("Not started.");

    public int Port => EndPoint.Port;

    public string Uri(string path) => $"coap://127.0.0.1:{Port}/{path.TrimStart('/')}";

    /// <summary>The coaps:// endpoint (an ephemeral port too).</summary>
    public IPEndPoint SecureEndPoint => Service.SecureLocalEndPoint ?? throw new InvalidOperationException("Not started, or DTLS is disabled.");

    public int SecurePort => SecureEndPoint.Port;

    public string SecureUri(string path) => $"coaps://127.0.0.1:{SecurePort}/{path.TrimStart('/')}";

    /// <summary>DIR/trust-anchor.pem: the demo root CA that issued the server certificate.</summary>
    public string TrustAnchorFile => Path.Combine(DataDirectory, "trust-anchor.pem");

    /// <summary>DIR/demo/device.pem: the demo device certificate (issued by the trusted demo manufacturer CA).</summary>
    public string DemoDeviceCertificateFile => Path.Combine(DataDirectory, "demo", "device.pem");

    public string DemoDeviceKeyFile => Path.Combine(DataDirectory, "demo", "device.key");

    public static async Task<InProcessServer> StartAsync(IDictionary<string, string?>? settings = null, string bind = "127.0.0.1")
    {
        // A DataDirectory among the settings (one prepared by `coapenroll ca init`) is used as it is.
        string data = settings?.TryGetValue("DataDirectory", out string? given) == true && given is { Length: > 0 }
            ? given
            : Path.Combine(Path.GetTempPath(), "coapenroll-tests", Guid.NewGuid().ToString("N"));
        var overrides = new Dictionary<string, string?>
        {
            ["Coap:Bind"] = bind,
            ["Coap:Port"] = "0",
            ["Http:Bind"] = bind,
            ["Http:Port"] = "0",
            ["Https:Bind"] = bind,
            ["Https:Port"] = "0",
            ["Dtls:Port"] = "0",
            ["DataDirectory"] = data,
        };
        foreach (var setting in settings ?? new Dictionary<string, string?>())
        {
            overrides[setting.Key] = setting.Value;
        }

        var builder = ServeHost.CreateBuilder(overrides);
        builder.Logging.ClearProviders();
        var host = builder.Build();
        await host.StartAsync();
        return new InProcessServer(host, data);
    }

    /// <summary>
    /// Settings for <see cref="StartAsync"/> with the issuing CA's key on a new SoftHSM2 token: a new data directory where
    /// <c>coapenroll ca init</c> generated the key on the token (Ca:KeyProvider=Pkcs11 and the Ca:Pkcs11 settings that name it).
    /// </summary>
    public static async Task<Dictionary<string, string?>> TokenSettingsAsync()
    {
        string data = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "token-" + Guid.NewGuid().ToString("N"));
        Dictionary<string, string?> token = await Est.EstServer.NewTokenSettingsAsync(data);
        CliResult init = await CliRunner.RunAsync(["ca", "init", "--data", data, .. token.Select(t => $"--{t.Key}={t.Value}")]);
        Assert.True(init.ExitCode == 0, init.Describe());
        token["DataDirectory"] = data;
        return token;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
            // The PIN file of TokenSettingsAsync, beside the data directory.
            File.Delete(DataDirectory.TrimEnd(Path.DirectorySeparatorChar) + ".pin");
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>xunit class fixture around <see cref="InProcessServer"/>.</summary>
public sealed class InProcessServerFixture : IAsyncLifetime
{
    private InProcessServer? _server;

    public InProcessServer Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync() => _server = await InProcessServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
