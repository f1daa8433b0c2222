using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;
using CoapEnroll.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>
/// The CMP server while the CA key cannot be reached (<see cref="CaKeyUnavailableException"/> from the key, as a PKCS#11 token
/// raises it): ir, p10cr and a genm for the CRL are refused with a protected error message, rejection and failInfo systemUnavail,
/// logged as a warning and not as a failure; nothing is issued or left open, and the same requests are served once the key is back.
/// </summary>
public sealed class CmpKeyUnavailableTests : IAsyncDisposable
{
    private const string Dev1 = "dev-1";
    private const string Dev1Secret = "dev-1-secret-0f3a9c";

    private readonly string _directory = Directory.CreateTempSubdirectory("coapenroll-cmp-key-").FullName;
    private readonly List<(LogLevel Level, EventId Id, string Text)> _log = [];
    private SqliteCertificateStore? _store;

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static TheoryData<string> Requests => new() { "ir", "p10cr", "genm-crl" };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task KeyUnavailable_ProtectedSystemUnavail_WarningLogged_NothingKept_ThenServed(string kind)
    {
        (CmpServer server, SwitchableKey key) = await CreateAsync();
        key.Unavailable = true;

        PkiMessage refused = await SendAsync(server, Request(kind));

        ErrorBody error = Assert.IsType<ErrorBody>(refused.Body);
        Assert.Equal((int)PkiStatus.Rejection, error.StatusInfo.Status);
        Assert.Equal((int)PkiFailureInfo.SystemUnavail, error.StatusInfo.FailInfo);
        Assert.Contains("the CA key is unavailable", string.Join("; ", error.StatusInfo.StatusString ?? []), StringComparison.Ordinal);
        Assert.True(CmpProtection.VerifyMac(refused, Encoding.UTF8.GetBytes(Dev1Secret), new CmpMacPolicy()).IsValid);
        Assert.Contains(_log, e => e.Level == LogLevel.Warning && e.Id.Id == 412 && e.Text.Contains("systemUnavail", StringComparison.Ordinal));
        Assert.DoesNotContain(_log, e => e.Level >= LogLevel.Error);
        Assert.Empty(await _store!.ListCertificatesAsync(100, CancellationToken.None));
        Assert.Equal(0, server.OpenTransactions);

        key.Unavailable = false;
        PkiMessage served = await SendAsync(server, Request(kind));
        Assert.IsNotType<ErrorBody>(served.Body);
        if (kind != "genm-crl")
        {
            CertRepMessageBody body = Assert.IsType<CertRepMessageBody>(served.Body);
            Assert.Equal((int)PkiStatus.Accepted, Assert.Single(body.Responses).Status.Status);
            Assert.Single(await _store!.ListCertificatesAsync(100, CancellationToken.None));
        }
    }

    [Fact]
    public async Task OtherSigningFailures_StayInternalErrors()
    {
        // The negative side: only the key's unavailability is systemUnavail; another failure keeps the generic systemFailure.
        (CmpServer server, SwitchableKey key) = await CreateAsync();
        key.Broken = true;

        PkiMessage refused = await SendAsync(server, Request("ir"));

        ErrorBody error = Assert.IsType<ErrorBody>(refused.Body);
        Assert.Equal((int)PkiFailureInfo.SystemFailure, error.StatusInfo.FailInfo);
        Assert.Contains(_log, e => e.Level == LogLevel.Error);
    }

    private static PkiMessage Request(string kind)
    {
        PkiHeader header = CmpRequests.Header(new X500DistinguishedName("CN=" + Dev1), null, Encoding.UTF8.GetBytes(Dev1), CmpRequests.NewId(), null, implicitConfirm: true);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PkiMessage message = kind switch
        {
            "ir" => CmpRequests.CertificateRequest(PkiBodyType.Ir, header, new X500DistinguishedName("CN=" + Dev1), key),
            "p10cr" => CmpRequests.Pkcs10(header, new CertificateRequest("CN=" + Dev1, key, HashAlgorithmName.SHA256).CreateSigningRequest()),
            _ => CmpRequests.General(header, CmpInfoTypes.CrlStatusList),
        };
        return CmpProtection.ProtectWithMac(message, Encoding.UTF8.GetBytes(Dev1Secret), CmpMacParameters.PasswordBasedMac(1000));
    }

    private static async Task<PkiMessage> SendAsync(CmpServer server, PkiMessage message)
    {
        CmpExchangeResult result = await server.HandleAsync(PkiMessageCodec.Encode(message),
            new CmpRequestContext { FrontEnd = "cmp-test", Peer = "test" }, CancellationToken.None);
        Assert.False(result.IsMalformed, result.Detail);
        return PkiMessageCodec.Decode(result.Response).Message ?? throw new InvalidOperationException("the answer does not decode");
    }

    private async Task<(CmpServer, SwitchableKey)> CreateAsync()
    {
        var caOptions = new CaOptions { DataDirectory = _directory };
        CaBootstrapResult bootstrap = await CaBootstrap.LoadOrCreateAsync(caOptions, null, null, CancellationToken.None);
        CaHierarchy loaded = bootstrap.Hierarchy;
        var key = new SwitchableKey(loaded.IssuingKey);
        var hierarchy = new CaHierarchy(loaded.Layout, loaded.TrustAnchor, loaded.IssuingCa, loaded.Intermediates, loaded.TrustedManufacturerCas,
            loaded.TrustedRegistrarCas, key);
        _store = await SqliteCertificateStore.OpenAsync(hierarchy.Layout.Database, null, CancellationToken.None);
        var authority = new CertificateAuthority(hierarchy, _store, CertificateProfileCatalog.FromOptions(caOptions),
            new ReservedNames(hierarchy, [bootstrap.ServerCredential.Certificate]), null, null);
        var enrollment = new EnrollmentService(authority, hierarchy, new EnrollmentOptions { KeyGenerationSecret = new byte[32] }, null, null);
        var options = new CmpServerOptions();
        options.SharedSecrets[Dev1] = new CmpSharedSecretOptions { Secret = Dev1Secret };
        var server = new CmpServer(options, enrollment, bootstrap.ServerCredential.Certificate, bootstrap.ServerCredential.Intermediates, new ListLogger(_log))
        {
            SharedSecretStore = _store,
            TransactionStore = _store,
        };
        return (server, key);
    }

    /// <summary>The CA's key, made unreachable (as a lost token) or broken (another failure) on demand.</summary>
    private sealed class SwitchableKey(CaSigningKey inner) : CaSigningKey
    {
        public bool Unavailable { get; set; }

        public bool Broken { get; set; }

        public override PublicKey PublicKey => inner.PublicKey;

        public override string Description => "switchable " + inner.Description;

        public override ValueTask<CaSigningLease> AcquireAsync(CancellationToken cancellationToken) =>
            Unavailable ? throw new CaKeyUnavailableException("the test token is removed")
            : Broken ? throw new CryptographicException("the test token is broken")
            : inner.AcquireAsync(cancellationToken);
    }

    private sealed class ListLogger(List<(LogLevel, EventId, string)> entries) : ILogger<CmpServer>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (entries)
            {
                entries.Add((logLevel, eventId, formatter(state, exception)));
            }
        }
    }
}
