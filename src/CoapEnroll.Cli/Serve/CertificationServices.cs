using CoapEnroll.Ca;
using CoapEnroll.Enrollment;
using CoapEnroll.Est;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Serve;

/// <summary>
/// The CA side of the composition root, one per host: the data directory, the CA hierarchy (<see cref="CaHierarchyProvider"/>),
/// the certificate store (DIR/coapenroll.db), the <see cref="CertificateAuthority"/> on them, and the <see cref="EnrollmentService"/>
/// every front end shares. Built on first use, because loading them is asynchronous and may create the demo PKI; <c>serve</c>
/// (through <see cref="CoapServerService"/>) and <c>coapenroll requests</c> take them from here instead of building their own.
/// </summary>
internal sealed class CertificationServices : IAsyncDisposable, IDisposable
{
    private readonly CaHierarchyProvider _hierarchies;
    private readonly IConfiguration _configuration;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteCertificateStore? _store;
    private CertificateAuthority? _authority;
    private EnrollmentService? _enrollment;

    public CertificationServices(CaHierarchyProvider hierarchies, IConfiguration configuration, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _hierarchies = hierarchies;
        _configuration = configuration;
        _loggerFactory = loggerFactory;
        _time = time;
        DataDirectory = Path.GetFullPath(configuration[ServeConfigurationKeys.DataDirectory] is { Length: > 0 } dir ? dir : ServeConfigurationKeys.DefaultDataDirectory);
        Layout = new CaDataLayout(DataDirectory);
    }

    /// <summary>The full path of the data directory (<c>DataDirectory</c>, default ./data).</summary>
    public string DataDirectory { get; }

    /// <summary>Where the files are in it.</summary>
    public CaDataLayout Layout { get; }

    /// <summary>The EST-coaps settings (the <c>Est</c> section), once <see cref="GetEnrollmentAsync"/> has run.</summary>
    public EstServerOptions? EstOptions { get; private set; }

    /// <summary>The CA hierarchy, loaded (or on first start created) once.</summary>
    /// <exception cref="CaConfigurationException">A configured or stored file is missing, unreadable or does not fit.</exception>
    public Task<CaHierarchy> GetHierarchyAsync(CancellationToken cancellationToken) => _hierarchies.GetAsync(DataDirectory, cancellationToken);

    /// <summary>The certificate store, opened once.</summary>
    public async Task<SqliteCertificateStore> GetStoreAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _store ??= await SqliteCertificateStore.OpenAsync(Layout.Database, _time, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The CA with the profiles of the <c>Ca</c> section, built once.</summary>
    public async Task<CertificateAuthority> GetAuthorityAsync(CancellationToken cancellationToken)
    {
        CaHierarchy hierarchy = await GetHierarchyAsync(cancellationToken);
        SqliteCertificateStore store = await GetStoreAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _authority ??= new CertificateAuthority(hierarchy, store, CertificateProfileCatalog.FromOptions(_hierarchies.LoadOptions(DataDirectory)),
                _loggerFactory.CreateLogger<CertificateAuthority>(), _time);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The enrollment service, built once, configured by the <c>Est</c> section (<see cref="EstServerOptions"/>). Server-generated
    /// keys are derived from DIR/ca/keygen.secret (created on first use) unless Est:KeyGenerationSecret is set, so that a pending
    /// /skg request still completes after a restart.
    /// </summary>
    public async Task<EnrollmentService> GetEnrollmentAsync(CancellationToken cancellationToken)
    {
        CertificateAuthority authority = await GetAuthorityAsync(cancellationToken);
        CaHierarchy hierarchy = await GetHierarchyAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_enrollment is null)
            {
                EstServerOptions estOptions = new();
                IConfigurationSection estSection = _configuration.GetSection("Est");
                estSection.Bind(estOptions);

                // The binder appends list items to the default [/.well-known/est]; configured roots replace it (Est:Roots:0=/est serves /est only).
                if (estSection.GetSection(nameof(EstServerOptions.Roots)).Get<string[]>() is { Length: > 0 } roots)
                {
                    estOptions.Roots = roots;
                }

                estOptions.KeyGenerationSecret ??= await LoadOrCreateKeyGenerationSecretAsync(Path.Combine(hierarchy.Layout.CaDirectory, "keygen.secret"), cancellationToken);
                _enrollment = new EnrollmentService(authority, hierarchy, EstCoapsServer.CreateEnrollmentOptions(estOptions),
                    _loggerFactory.CreateLogger<EnrollmentService>(), _time);
                EstOptions = estOptions;
            }

            return _enrollment;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        SqliteCertificateStore? store = Interlocked.Exchange(ref _store, null);
        if (store is not null)
        {
            await store.DisposeAsync();
        }
    }

    // The host's container disposes synchronously when its owner does; the store is normally closed by then (CoapServerService.StopAsync).
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static async Task<byte[]> LoadOrCreateKeyGenerationSecretAsync(string path, CancellationToken cancellationToken)
    {
        if (File.Exists(path))
        {
            byte[] existing = await File.ReadAllBytesAsync(path, cancellationToken);
            return existing.Length >= 32
                ? existing
                : throw new CaConfigurationException(path, CaConfigurationProblem.InvalidSetting, "the key generation secret must be at least 32 bytes");
        }

        byte[] secret = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var file = new FileStream(path, options))
        {
            await file.WriteAsync(secret, cancellationToken);
        }

        return secret;
    }
}
