using System.Net;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Serve;
using CoapEnroll.Hosting;
using CoapEnroll.Cli.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Tests.Est;

/// <summary>
/// The host <c>coapenroll serve</c> runs, in-process on 127.0.0.1 with ephemeral coap:// and coaps:// ports and a temporary
/// data directory that survives <see cref="RestartAsync"/> (a new host on the same directory, new ports).
/// </summary>
public sealed class EstServer : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _settings;
    private IHost? _host;

    private EstServer(string dataDirectory, Dictionary<string, string?> settings)
    {
        DataDirectory = dataDirectory;
        _settings = settings;
    }

    public string DataDirectory { get; }

    public IPEndPoint SecureEndPoint => Service.SecureLocalEndPoint ?? throw new InvalidOperationException("coaps:// is not listening.");

    /// <summary>coaps://127.0.0.1:PORT followed by <paramref name="path"/>.</summary>
    public string Uri(string path = "") => $"coaps://127.0.0.1:{SecureEndPoint.Port}{path}";

    public string TrustAnchor => Path.Combine(DataDirectory, "trust-anchor.pem");

    public string IssuingCa => Path.Combine(DataDirectory, "ca", "issuing.pem");

    public string DemoCertificate => Path.Combine(DataDirectory, "demo", "device.pem");

    public string DemoKey => Path.Combine(DataDirectory, "demo", "device.key");

    /// <summary>The running host's certification services (the hierarchy and its issuing key).</summary>
    internal CertificationServices Certification => _host?.Services.GetRequiredService<CertificationServices>() ?? throw new InvalidOperationException("Not started.");

    internal CoapServerService Service => _host?.Services.GetRequiredService<CoapServerService>() ?? throw new InvalidOperationException("Not started.");

    /// <summary>The certificates the CA has issued so far (the store of the running host).</summary>
    public async Task<int> CertificateCountAsync() => (await Service.Authority!.Store.ListCertificatesAsync(10_000, CancellationToken.None)).Count;

    public static Task<EstServer> StartAsync(IDictionary<string, string?>? settings = null) => StartAsync(settings, NewDataDirectory());

    /// <summary>
    /// As <see cref="StartAsync(IDictionary{string, string?}?)"/> with the issuing CA's key on a new SoftHSM2 token: the token is
    /// initialised, <c>coapenroll ca init</c> generates the key there and issues DIR/ca/issuing.pem for it, then the host starts
    /// with Ca:KeyProvider=Pkcs11.
    /// </summary>
    public static async Task<EstServer> StartOnTokenAsync(IDictionary<string, string?>? settings = null)
    {
        string data = NewDataDirectory();
        Dictionary<string, string?> token = await NewTokenSettingsAsync(data);
        CliResult init = await CliRunner.RunAsync(["ca", "init", "--data", data, .. token.Select(t => $"--{t.Key}={t.Value}")]);
        Assert.True(init.ExitCode == 0, init.Describe());
        foreach (var setting in settings ?? new Dictionary<string, string?>())
        {
            token[setting.Key] = setting.Value;
        }

        return await StartAsync(token, data);
    }

    /// <summary>A new SoftHSM2 token (user PIN in DIR-beside file) and the Ca:KeyProvider/Ca:Pkcs11 settings that name it and key "issuing".</summary>
    public static async Task<Dictionary<string, string?>> NewTokenSettingsAsync(string dataDirectory)
    {
        const string pin = "2468";
        string label = "est" + Guid.NewGuid().ToString("N")[..16];
        await CoapEnroll.Testing.SoftHsm.InitTokenAsync(label, pin);
        string pinFile = dataDirectory.TrimEnd(Path.DirectorySeparatorChar) + ".pin";
        Directory.CreateDirectory(Path.GetDirectoryName(pinFile)!);
        await File.WriteAllTextAsync(pinFile, pin + "\n");
        return new Dictionary<string, string?>
        {
            ["Ca:KeyProvider"] = "Pkcs11",
            ["Ca:Pkcs11:Module"] = CoapEnroll.Testing.SoftHsm.ModulePath,
            ["Ca:Pkcs11:TokenLabel"] = label,
            ["Ca:Pkcs11:KeyLabel"] = "issuing",
            ["Ca:Pkcs11:PinFile"] = pinFile,
        };
    }

    private static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "coapenroll-tests", "est-" + Guid.NewGuid().ToString("N"));

    private static async Task<EstServer> StartAsync(IDictionary<string, string?>? settings, string data)
    {
        var all = new Dictionary<string, string?>
        {
            ["Coap:Bind"] = "127.0.0.1",
            ["Coap:Port"] = "0",
            ["Http:Bind"] = "127.0.0.1",
            ["Http:Port"] = "0",
            ["Https:Bind"] = "127.0.0.1",
            ["Https:Port"] = "0",
            ["Dtls:Port"] = "0",
            ["DataDirectory"] = data,
            ["Est:PendingRetryAfter"] = "00:00:01",
        };
        foreach (var setting in settings ?? new Dictionary<string, string?>())
        {
            all[setting.Key] = setting.Value;
        }

        var server = new EstServer(data, all);
        await server.StartHostAsync();
        return server;
    }

    /// <summary>Stops the host (server, then store) and starts a new one on the same data directory.</summary>
    public async Task RestartAsync()
    {
        await StopHostAsync();
        await StartHostAsync();
    }

    private async Task StartHostAsync()
    {
        var builder = ServeHost.CreateBuilder(_settings);
        builder.Logging.ClearProviders();
        _host = builder.Build();
        await _host.StartAsync();
    }

    private async Task StopHostAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
            _host = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopHostAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
            File.Delete(DataDirectory + ".pin");
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Runs libcoap's DTLS clients and openssl in a scratch directory.</summary>
public static class EstTools
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static string Client(string library) => RequiredTool.Find($"coap-client-{library}", "libcoap3-bin");

    /// <summary>coap-client-{openssl|gnutls} with -B 10 (give up after 10 s) and the arguments.</summary>
    public static Task<ProcessResult> CoapClientAsync(string library, params string[] arguments) =>
        ExternalProcess.RunAsync(Client(library), ["-B", "10", .. arguments], Timeout);

    public static async Task<string> OpenSslAsync(params string[] arguments)
    {
        ProcessResult result = await ExternalProcess.RunAsync(RequiredTool.Find("openssl", "openssl"), arguments, Timeout);
        Assert.True(result.ExitCode == 0, result.Describe());
        return result.StandardOutput;
    }

    /// <summary>A new P-256 key (PEM) and a DER CSR for <paramref name="subject"/> (openssl's /CN=… form).</summary>
    public static async Task<(string Key, string Csr)> NewCsrAsync(string directory, string name, string subject)
    {
        string key = Path.Combine(directory, name + ".key");
        string csr = Path.Combine(directory, name + ".csr.der");
        await OpenSslAsync("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", subject, "-outform", "DER", "-out", csr);
        return (key, csr);
    }

    public static string Scratch()
    {
        string dir = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "est-scratch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// A multipart-core body (RFC 8710): a CBOR array of (content-format uint, representation bstr) pairs. Decoded here
    /// independently of the server's codec.
    /// </summary>
    public static List<(int ContentFormat, byte[] Data)> DecodeMultipartCore(byte[] cbor)
    {
        int position = 0;
        ulong ReadHead(int expectedMajor)
        {
            byte initial = cbor[position++];
            Assert.Equal(expectedMajor, initial >> 5);
            int info = initial & 0x1F;
            ulong value = info switch
            {
                < 24 => (ulong)info,
                24 => cbor[position],
                25 => (ulong)((cbor[position] << 8) | cbor[position + 1]),
                26 => (ulong)((cbor[position] << 24) | (cbor[position + 1] << 16) | (cbor[position + 2] << 8) | cbor[position + 3]),
                _ => throw new Xunit.Sdk.XunitException($"unexpected CBOR additional info {info}"),
            };
            position += info switch { < 24 => 0, 24 => 1, 25 => 2, _ => 4 };
            return value;
        }

        int count = (int)ReadHead(4);
        Assert.True(count % 2 == 0, "multipart-core has pairs");
        var parts = new List<(int, byte[])>();
        for (int i = 0; i < count / 2; i++)
        {
            int ct = (int)ReadHead(0);
            int length = (int)ReadHead(2);
            parts.Add((ct, cbor[position..(position + length)]));
            position += length;
        }

        Assert.Equal(cbor.Length, position);
        return parts;
    }
}
