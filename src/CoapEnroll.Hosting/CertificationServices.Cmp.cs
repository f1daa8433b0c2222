using System.Security.Cryptography;
using CoapEnroll.Ca;
using CoapEnroll.Cmp;
using CoapEnroll.Enrollment;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

public sealed partial class CertificationServices
{
    /// <summary>The MAC reference of the demo shared secret (<c>openssl cmp -ref demo</c>).</summary>
    public const string DemoCmpReference = "demo";

    private CmpServer? _cmp;

    /// <summary>
    /// Whether this node answers CMP itself (<c>Cmp:Enabled</c>, default true), over CoAP and HTTP. False when an upstream CMP server
    /// is configured (<c>Upstream:Cmp</c>, see <see cref="CmpProxied"/>): the proxy replaces local handling.
    /// </summary>
    public bool CmpEnabled => CmpWanted && !CmpUpstreamConfigured;

    /// <summary>
    /// Whether the CoAP CMP resources forward to an upstream HTTP CMP server (<c>Upstream:Cmp</c> set, and <c>Cmp:Enabled</c> not
    /// false): then there is no local CMP server, no CMP over HTTP on this node, and no announcements.
    /// </summary>
    public bool CmpProxied => CmpWanted && CmpUpstreamConfigured;

    private bool CmpWanted => _configuration.GetValue(CmpServerOptions.SectionName + ":" + nameof(CmpServerOptions.Enabled), true);

    private bool CmpUpstreamConfigured => _configuration[$"{UpstreamOptions.SectionName}:{nameof(UpstreamOptions.Cmp)}"] is { Length: > 0 };

    /// <summary>The CMP server once the host has started with CMP enabled (see <see cref="GetCmpServerAsync"/>).</summary>
    public CmpServer Cmp => _cmp ?? throw NotLoaded(nameof(CmpServer));

    /// <summary>
    /// The demo MAC secret (<see cref="DemoCmpReference"/>), once <see cref="GetCmpServerAsync"/> has run: DIR/demo/cmp-demo.secret,
    /// created with the demo PKI; <see langword="null"/> when the data directory has none (a production CA) or Cmp:DemoSecret is false.
    /// </summary>
    public string? DemoCmpSecret { get; private set; }

    /// <summary>
    /// The CMP server, built once on the enrollment service, configured by the <c>Cmp</c> section (<see cref="CmpServerOptions"/>).
    /// Answers that are not MAC-protected are signed with the server credential (DIR/server.pem), which chains to this CA's root.
    /// On a data directory with the demo PKI the demo reference is added with any name allowed, as the demo IDevID is for EST.
    /// References not configured are looked up among the secrets of the store (<c>coapenroll cmp secrets</c>).
    /// </summary>
    public async Task<CmpServer> GetCmpServerAsync(CancellationToken cancellationToken)
    {
        EnrollmentService enrollment = await GetEnrollmentAsync(cancellationToken);
        ServerCredential credential = await GetServerCredentialAsync(cancellationToken);
        CaHierarchy hierarchy = await GetHierarchyAsync(cancellationToken);
        ICertificateAuthorityStore store = await GetStoreAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_cmp is null)
            {
                var options = new CmpServerOptions();
                _configuration.GetSection(CmpServerOptions.SectionName).Bind(options);
                string demoFile = Path.Combine(Path.GetDirectoryName(hierarchy.Layout.DemoDeviceCertificate)!, "cmp-demo.secret");
                if (_configuration.GetValue("Cmp:DemoSecret", true) && !options.SharedSecrets.ContainsKey(DemoCmpReference)
                    && (File.Exists(demoFile) || File.Exists(hierarchy.Layout.DemoDeviceCertificate)))
                {
                    DemoCmpSecret = await LoadOrCreateDemoSecretAsync(demoFile, cancellationToken);
                    options.SharedSecrets[DemoCmpReference] = new CmpSharedSecretOptions { Secret = DemoCmpSecret, AnyName = true };
                }

                _cmp = new CmpServer(options, enrollment, credential.Certificate, credential.Intermediates,
                    _loggerFactory.CreateLogger<CmpServer>(), _time)
                {
                    SharedSecretStore = store,
                    TransactionStore = InstrumentedTransactionStore.Wrap(store),
                    ProtectionKey = ChooseProtectionKey(options, hierarchy, credential),
                };
            }

            return _cmp;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// What signs CMP answers (<c>Cmp:ProtectionKey</c>): when unset, the issuing CA's key if it is not a PEM file (a PKCS#11 token)
    /// and the issuing CA certificate allows digitalSignature (the CA created on a token does), else the server credential. The
    /// server credential stays for the systemUnavail answers given while the CA key is unavailable (see <see cref="CmpServer.ProtectionKey"/>).
    /// </summary>
    private CmpProtectionKey ChooseProtectionKey(CmpServerOptions options, CaHierarchy hierarchy, ServerCredential credential)
    {
        CmpProtectionKey server = CmpProtectionKey.FromCredential(credential.Certificate, credential.Intermediates);
        bool onToken = hierarchy.IssuingKey is not FileCaSigningKey;
        CmpProtectionKeySource source = options.ProtectionKey ?? (onToken ? CmpProtectionKeySource.Ca : CmpProtectionKeySource.Server);
        if (source == CmpProtectionKeySource.Server)
        {
            return server;
        }

        if (!CmpProtectionKey.AllowsSignatures(hierarchy.IssuingCa))
        {
            if (options.ProtectionKey is null)
            {
                // An issuing CA made before its KeyUsage had digitalSignature: RFC 9483 §3.5 (and openssl cmp) refuse its signatures.
                LogProtectionKeyFallback(_loggerFactory.CreateLogger<CmpServer>(), hierarchy.IssuingCa.Subject);
                return server;
            }

            throw new CaConfigurationException(hierarchy.Layout.IssuingCertificate, CaConfigurationProblem.InvalidSetting,
                "Cmp:ProtectionKey=Ca needs an issuing CA certificate whose KeyUsage allows digitalSignature (RFC 9483 §3.5)");
        }

        return new CmpProtectionKey(hierarchy.IssuingCa, hierarchy.Intermediates, hierarchy.IssuingKey);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "CMP answers are signed with the server credential: the KeyUsage of the issuing CA {Subject} excludes digitalSignature (set Cmp:ProtectionKey=Server to silence this)")]
    private static partial void LogProtectionKeyFallback(ILogger logger, string subject);

    /// <summary>A random printable secret in a file only the owner reads, created once.</summary>
    private static async Task<string> LoadOrCreateDemoSecretAsync(string path, CancellationToken cancellationToken)
    {
        if (File.Exists(path))
        {
            string existing = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
            return existing.Length >= 16
                ? existing
                : throw new CaConfigurationException(path, CaConfigurationProblem.InvalidSetting, "the demo CMP secret must be at least 16 characters");
        }

        string secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var file = new FileStream(path, options))
        await using (var writer = new StreamWriter(file))
        {
            await writer.WriteLineAsync(secret.AsMemory(), cancellationToken);
        }

        return secret;
    }
}
