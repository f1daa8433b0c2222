using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;
using CoapEnroll.Hosting;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>A demo CA in a temporary directory, an enrollment service on it and a <see cref="CmpServer"/> in front, with a clock the test moves.</summary>
internal sealed class CmpServerFixture : IAsyncDisposable
{
    public const string Dev1 = "dev-1";
    public const string Dev1Secret = "dev-1-secret-0f3a9c";
    public const string Dev2 = "dev-2";
    public const string Dev2Secret = "dev-2-secret-77b1e0";

    private readonly string _directory;
    private readonly List<SqliteCertificateStore> _otherStores = [];
    private CaOptions _caOptions = null!;
    private Action<CmpServerOptions>? _configure;

    private CmpServerFixture(string directory, CaBootstrapResult bootstrap, SqliteCertificateStore store, CertificateAuthority authority, CmpServer server, ManualTime time)
    {
        _directory = directory;
        Bootstrap = bootstrap;
        Store = store;
        Authority = authority;
        Server = server;
        Time = time;
    }

    public CaBootstrapResult Bootstrap { get; }

    public SqliteCertificateStore Store { get; }

    public CertificateAuthority Authority { get; }

    public CmpServer Server { get; }

    public ManualTime Time { get; }

    public static async Task<CmpServerFixture> CreateAsync(Action<CmpServerOptions>? configure = null, Action<CaOptions>? configureCa = null)
    {
        string directory = Directory.CreateTempSubdirectory("coapenroll-cmp-").FullName;
        var caOptions = new CaOptions { DataDirectory = directory };
        configureCa?.Invoke(caOptions);
        CaBootstrapResult bootstrap = await CaBootstrap.LoadOrCreateAsync(caOptions, null, null, CancellationToken.None);
        SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(bootstrap.Hierarchy.Layout.Database, null, CancellationToken.None);
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var authority = new CertificateAuthority(bootstrap.Hierarchy, store, CertificateProfileCatalog.FromOptions(caOptions),
            new ReservedNames(bootstrap.Hierarchy, [bootstrap.ServerCredential.Certificate]), null, time);
        var enrollment = new EnrollmentService(authority, bootstrap.Hierarchy, new EnrollmentOptions { KeyGenerationSecret = new byte[32] }, null, time);
        var options = new CmpServerOptions();
        options.SharedSecrets[Dev1] = new CmpSharedSecretOptions { Secret = Dev1Secret };
        options.SharedSecrets[Dev2] = new CmpSharedSecretOptions { Secret = Dev2Secret };
        configure?.Invoke(options);
        var server = new CmpServer(options, enrollment, bootstrap.ServerCredential.Certificate, bootstrap.ServerCredential.Intermediates, null, time) { SharedSecretStore = store, TransactionStore = store };
        return new CmpServerFixture(directory, bootstrap, store, authority, server, time) { _caOptions = caOptions, _configure = configure };
    }

    /// <summary>
    /// Another node of the same CA: its own store instance on the same database, its own CA, enrollment service and CMP server
    /// (so its own memory of transactions), the same configuration and clock.
    /// </summary>
    public async Task<(CmpServer Server, CertificateAuthority Authority)> AddNodeAsync()
    {
        SqliteCertificateStore store = await SqliteCertificateStore.OpenAsync(Bootstrap.Hierarchy.Layout.Database, null, CancellationToken.None);
        _otherStores.Add(store);
        return AddNodeOn(store);
    }

    /// <summary>A node as <see cref="AddNodeAsync"/> makes, on <paramref name="store"/> (for example one that fails on purpose); the caller owns it.</summary>
    public (CmpServer Server, CertificateAuthority Authority) AddNodeOn(ICertificateAuthorityStore store)
    {
        var authority = new CertificateAuthority(Bootstrap.Hierarchy, store, CertificateProfileCatalog.FromOptions(_caOptions),
            new ReservedNames(Bootstrap.Hierarchy, [Bootstrap.ServerCredential.Certificate]), null, Time);
        var enrollment = new EnrollmentService(authority, Bootstrap.Hierarchy, new EnrollmentOptions { KeyGenerationSecret = new byte[32] }, null, Time);
        var options = new CmpServerOptions();
        options.SharedSecrets[Dev1] = new CmpSharedSecretOptions { Secret = Dev1Secret };
        options.SharedSecrets[Dev2] = new CmpSharedSecretOptions { Secret = Dev2Secret };
        _configure?.Invoke(options);
        var server = new CmpServer(options, enrollment, Bootstrap.ServerCredential.Certificate, Bootstrap.ServerCredential.Intermediates, null, Time)
        {
            SharedSecretStore = store,
            TransactionStore = store,
        };
        return (server, authority);
    }

    /// <summary>Sends <paramref name="message"/> to <paramref name="node"/> and decodes the answer.</summary>
    public static async Task<PkiMessage> SendToAsync(CmpServer node, PkiMessage message, CmpRequestContext? context = null)
    {
        CmpExchangeResult result = await node.HandleAsync(PkiMessageCodec.Encode(message), context ?? Context(), CancellationToken.None);
        Assert.False(result.IsMalformed, result.Detail);
        CmpDecodeResult decoded = PkiMessageCodec.Decode(result.Response);
        return decoded.Message ?? throw new InvalidOperationException($"the answer does not decode: {decoded.Reason}");
    }

    public static CmpRequestContext Context(string? operation = null, string? profile = null) =>
        new() { FrontEnd = "cmp-test", OperationLabel = operation, ProfileLabel = profile, Peer = "test" };

    public static PkiHeader Header(string reference, byte[]? transactionId = null, ReadOnlyMemory<byte>? recipNonce = null, bool implicitConfirm = false,
        DateTimeOffset? time = null) =>
        CmpRequests.Header(new X500DistinguishedName("CN=" + reference), null, Encoding.UTF8.GetBytes(reference), transactionId ?? CmpRequests.NewId(),
            recipNonce, implicitConfirm, time);

    public static PkiMessage Mac(PkiMessage message, string secret, int iterations = 1000) =>
        CmpProtection.ProtectWithMac(message, Encoding.UTF8.GetBytes(secret), CmpMacParameters.PasswordBasedMac(iterations));

    /// <summary>Sends <paramref name="message"/> and decodes the answer, which must be a PKIMessage.</summary>
    public async Task<PkiMessage> SendAsync(PkiMessage message, CmpRequestContext? context = null)
    {
        CmpExchangeResult result = await Server.HandleAsync(PkiMessageCodec.Encode(message), context ?? Context(), CancellationToken.None);
        Assert.False(result.IsMalformed, result.Detail);
        CmpDecodeResult decoded = PkiMessageCodec.Decode(result.Response);
        return decoded.Message ?? throw new InvalidOperationException($"the answer does not decode: {decoded.Reason}");
    }

    /// <summary>A MAC-protected ir of a new P-256 key for CN=<paramref name="reference"/>.</summary>
    public static (PkiMessage Request, ECDsa Key) MacIr(string reference, string secret, bool implicitConfirm = false, string? subject = null,
        PkiBodyType type = PkiBodyType.Ir)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PkiMessage ir = CmpRequests.CertificateRequest(type, Header(reference, implicitConfirm: implicitConfirm),
            new X500DistinguishedName(subject ?? "CN=" + reference), key);
        return (Mac(ir, secret), key);
    }

    public static void AssertError(PkiMessage answer, PkiFailureInfo failure)
    {
        ErrorBody error = Assert.IsType<ErrorBody>(answer.Body);
        Assert.Equal((int)PkiStatus.Rejection, error.StatusInfo.Status);
        Assert.True(error.StatusInfo.FailInfo == (int)failure, $"failInfo {(PkiFailureInfo)(error.StatusInfo.FailInfo ?? 0)}, expected {failure}: {string.Join("; ", error.StatusInfo.StatusString ?? [])}");
    }

    public static CertResponse SingleResponse(PkiMessage answer, PkiBodyType type)
    {
        CertRepMessageBody body = Assert.IsType<CertRepMessageBody>(answer.Body);
        Assert.Equal(type, body.BodyType);
        return Assert.Single(body.Responses);
    }

    public async Task<int> CertificateCountAsync() => (await Store.ListCertificatesAsync(10_000, CancellationToken.None)).Count;

    public async ValueTask DisposeAsync()
    {
        foreach (SqliteCertificateStore other in _otherStores)
        {
            await other.DisposeAsync();
        }

        await Store.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A clock the test sets.</summary>
    internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
