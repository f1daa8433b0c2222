using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Hosting;
using CoapEnroll.Transport;

namespace CoapEnroll.Est.Tests;

/// <summary>A CA in a temporary data directory, an EST-coaps server on DTLS (and plain UDP) loopback, and client factories.</summary>
internal sealed class EstFixture : IAsyncDisposable
{
    private readonly Action<EstServerOptions>? _configureEst;
    private readonly Action<CoapServer>? _configureServer;
    private readonly Action<DtlsServerOptions>? _configureDtls;
    private readonly Action<CoapServerOptions>? _configureCoap;
    private readonly CoapEnroll.Est.Upstream.EstHttpsClient? _upstream;
    private CoapServer? _server;

    private EstFixture(string directory, CaOptions options, Action<EstServerOptions>? configureEst, Action<CoapServer>? configureServer,
        Action<DtlsServerOptions>? configureDtls, Action<CoapServerOptions>? configureCoap, CoapEnroll.Est.Upstream.EstHttpsClient? upstream)
    {
        _upstream = upstream;
        DataDirectory = directory;
        CaOptions = options;
        _configureEst = configureEst;
        _configureServer = configureServer;
        _configureDtls = configureDtls;
        _configureCoap = configureCoap;
    }

    public string DataDirectory { get; }

    public CaOptions CaOptions { get; }

    public CaHierarchy Hierarchy { get; private set; } = null!;

    public SqliteCertificateStore Store { get; private set; } = null!;

    public CertificateAuthority Authority { get; private set; } = null!;

    public IPEndPoint DtlsEndPoint { get; private set; } = null!;

    public IPEndPoint UdpEndPoint { get; private set; } = null!;

    public X509Certificate2 Device { get; private set; } = null!;

    /// <summary>The CoAP server EST is mapped on (its block-wise layer tells what request bodies it holds).</summary>
    public CoapServer Server => _server ?? throw new InvalidOperationException("Not started.");

    /// <param name="configureServer">Maps extra (probe) resources next to EST on the same server and listeners.</param>
    /// <param name="configureDtls">Changes the DTLS server settings EST makes (e.g. the extended master secret policy).</param>
    /// <param name="configureCoap">Changes the CoAP server's settings (e.g. the duplicate detection bounds).</param>
    /// <param name="upstream">Makes the EST resources a registrar (RFC 9148 §5) in front of this EST server over HTTPS.</param>
    public static async Task<EstFixture> StartAsync(Action<EstServerOptions>? configureEst = null, Action<CaOptions>? configureCa = null,
        Action<CoapServer>? configureServer = null, Action<DtlsServerOptions>? configureDtls = null, Action<CoapServerOptions>? configureCoap = null,
        CoapEnroll.Est.Upstream.EstHttpsClient? upstream = null)
    {
        string directory = Directory.CreateTempSubdirectory("coapenroll-est-").FullName;

        // These tests are about EST-coaps itself (operations, formats, block-wise, refusals, reliability) and name each
        // certificate after the test (CN=keygen, CN=sealed, …) with the one demo device: their profiles issue any name on purpose.
        // Label "bound" is the shipped default profile (names bound to the client certificate), for the tests of that rule over EST;
        // the rule itself is tested in CoapEnroll.Enrollment.Tests.
        var options = new CaOptions
        {
            DataDirectory = directory,
            Profiles = new()
            {
                ["default"] = new CertificateProfileOptions { NamePolicy = NamePolicy.AnyName },
                ["lbl"] = new CertificateProfileOptions { ValidityDays = 30, NamePolicy = NamePolicy.AnyName },
                ["manual"] = new CertificateProfileOptions { RequiresApproval = true, NamePolicy = NamePolicy.AnyName },
                ["enc"] = new CertificateProfileOptions { KeyUsage = ["KeyEncipherment"], AcceptedKeyTypes = ["RSA"], NamePolicy = NamePolicy.AnyName },
                ["kex"] = new CertificateProfileOptions { KeyUsage = ["KeyAgreement"], NamePolicy = NamePolicy.AnyName },
                ["bound"] = new CertificateProfileOptions(),
            },
        };
        configureCa?.Invoke(options);
        var fixture = new EstFixture(directory, options, configureEst, configureServer, configureDtls, configureCoap, upstream);
        await fixture.StartServerAsync();
        fixture.Device = X509Certificate2.CreateFromPemFile(fixture.Hierarchy.Layout.DemoDeviceCertificate, fixture.Hierarchy.Layout.DemoDeviceKey);
        return fixture;
    }

    /// <summary>Stops the server and the store and starts everything again from the data directory (new ports).</summary>
    public async Task RestartAsync()
    {
        await StopServerAsync();
        await StartServerAsync();
    }

    private async Task StartServerAsync()
    {
        CaBootstrapResult bootstrap = await CaBootstrap.LoadOrCreateAsync(CaOptions, null, null, CancellationToken.None);
        Hierarchy = bootstrap.Hierarchy;
        Store = await SqliteCertificateStore.OpenAsync(Hierarchy.Layout.Database, null, CancellationToken.None);
        Authority = new CertificateAuthority(Hierarchy, Store, CertificateProfileCatalog.FromOptions(CaOptions),
            new ReservedNames(Hierarchy, [bootstrap.ServerCredential.Certificate]))
        {
            MaxPendingRequests = CaOptions.MaxPendingRequests,
            MaxPendingRequestsPerIdentity = CaOptions.MaxPendingRequestsPerIdentity,
        };

        // As the host does: the server credential signs the keys EST generates.
        var est = new EstServerOptions { PendingRetryAfter = TimeSpan.FromSeconds(1), KeyGenerationSigner = bootstrap.ServerCredential.Certificate };
        est.KeyGenerationSignerIntermediates.AddRange(bootstrap.ServerCredential.Intermediates.ToArray());
        _configureEst?.Invoke(est);
        var coap = new CoapServerOptions();
        _configureCoap?.Invoke(coap);
        _server = new CoapServer(coap);
        if (_upstream is null)
        {
            _server.MapEstCoaps(est, Authority, Hierarchy);
        }
        else
        {
            new EstCoapsServer(est, new CoapEnroll.Enrollment.EnrollmentService(Authority, Hierarchy, EstCoapsServer.CreateEnrollmentOptions(est)), _upstream).Map(_server);
        }

        _configureServer?.Invoke(_server);
        DtlsServerOptions dtls = DtlsServerTrust.CreateServerOptions(bootstrap.ServerCredential, Hierarchy);
        dtls.InitialRetransmissionTimeout = TimeSpan.FromMilliseconds(100);
        _configureDtls?.Invoke(dtls);
        DtlsEndPoint = (IPEndPoint)_server.Listen(DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), dtls)).LocalEndPoint;
        UdpEndPoint = (IPEndPoint)_server.Listen(UdpDatagramChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0))).LocalEndPoint;
    }

    private async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }

        await Store.DisposeAsync();
    }

    /// <param name="legacy">Play a device without extended_master_secret (RFC 7627): the client does not offer it.</param>
    public DtlsClientOptions ClientDtlsOptions(X509Certificate2? clientCertificate, bool legacy = false)
    {
        var options = new DtlsClientOptions
        {
            ServerName = "localhost",
            ClientCertificate = clientCertificate,
            InitialRetransmissionTimeout = TimeSpan.FromMilliseconds(100),
        };
        if (legacy)
        {
            options.OfferExtendedMasterSecret = false;
            options.ExtendedMasterSecret = ExtendedMasterSecretPolicy.Optional;
        }

        options.ServerCertificateTrustAnchors.Add(Hierarchy.TrustAnchor);
        return options;
    }

    public Task<DtlsClientChannel> ConnectAsync(X509Certificate2? clientCertificate, IPEndPoint? via = null, bool legacy = false) =>
        DtlsClientChannel.ConnectAsync(via ?? DtlsEndPoint, ClientDtlsOptions(clientCertificate, legacy), Timeout());

    public async Task<EstCoapsClient> ClientAsync(X509Certificate2? clientCertificate = null, Action<EstClientOptions>? configure = null, IPEndPoint? via = null,
        bool legacy = false)
    {
        var options = new EstClientOptions();
        options.Coap.Endpoint.AckTimeout = TimeSpan.FromMilliseconds(300);
        configure?.Invoke(options);
        return new EstCoapsClient(await ConnectAsync(clientCertificate ?? Device, via, legacy), options);
    }

    public async Task<IReadOnlyList<StoredCertificate>> CertificatesAsync() => await Store.ListCertificatesAsync(1000, CancellationToken.None);

    /// <summary>Every request row of the store (pending, issued, rejected), newest first.</summary>
    public async Task<IReadOnlyList<StoredRequest>> RequestsAsync() => await Store.ListRequestsAsync(null, 1000, CancellationToken.None);

    /// <summary>The requester identity the server derives from a client certificate: its subject and SHA-256 thumbprint.</summary>
    public static string RequesterOf(X509Certificate2 certificate) => $"{certificate.Subject} sha256:{certificate.GetCertHashString(HashAlgorithmName.SHA256)}";

    public static CancellationToken Timeout(int seconds = 20) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    /// <summary>A self-signed ECDSA client certificate no trusted CA vouches for.</summary>
    public static X509Certificate2 SelfSigned(string subject = "CN=intruder")
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    public string WritePem(string name, params X509Certificate2[] certificates)
    {
        string path = Path.Combine(DataDirectory, name);
        File.WriteAllText(path, string.Concat(certificates.Select(c => c.ExportCertificatePem() + "\n")));
        return path;
    }

    /// <summary>openssl verify of <paramref name="certificate"/> against the trust anchor with the issuing CA as untrusted intermediate.</summary>
    public async Task OpenSslVerifyAsync(X509Certificate2 certificate)
    {
        string leaf = WritePem($"leaf-{certificate.SerialNumber}.pem", certificate);
        string output = await OpenSsl.RunAsync(DataDirectory, "verify", "-CAfile", Hierarchy.Layout.TrustAnchor, "-untrusted", Hierarchy.Layout.IssuingCertificate, leaf);
        Assert.Contains(": OK", output);
    }

    public async ValueTask DisposeAsync()
    {
        await StopServerAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
