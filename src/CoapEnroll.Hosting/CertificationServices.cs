using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Ca.Pkcs11;
using CoapEnroll.Ca.Postgres;
using CoapEnroll.Enrollment;
using CoapEnroll.Est;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// The certification side of the composition root, one per host: the data directory, the CA hierarchy and the server's credential
/// (<see cref="CaBootstrap"/>: on first start in an empty data directory the demo PKI), the certificate store (DIR/coapenroll.db, or a PostgreSQL database: Store:Provider),
/// the <see cref="CertificateAuthority"/> on them, and the <see cref="EnrollmentService"/> every front end shares. Loading them is
/// asynchronous and may create files, so they are built once, when the host starts (this is a hosted service, registered before
/// the front ends by <see cref="CoapEnrollServiceCollectionExtensions.AddCoapEnrollCertification"/>), or on first use of the
/// <c>Get…Async</c> methods by a tool that does not start the host (<c>coapenroll requests</c>). The store closes when the host stops.
/// </summary>
public sealed partial class CertificationServices : IHostedLifecycleService, IAsyncDisposable, IDisposable
{
    /// <summary>Where the server keeps its state; relative paths are taken from the working directory.</summary>
    public const string DataDirectoryKey = "DataDirectory";

    /// <summary>The data directory when <see cref="DataDirectoryKey"/> is unset.</summary>
    public const string DefaultDataDirectory = "data";

    /// <summary>Which certificate store: <see cref="SqliteProvider"/> (the default) or <see cref="PostgresProvider"/>.</summary>
    public const string StoreProviderKey = "Store:Provider";

    /// <summary>The Npgsql connection string of the PostgreSQL store (<c>Host=…;Database=…;Username=…;Password=…</c>).</summary>
    public const string StoreConnectionStringKey = "Store:ConnectionString";

    /// <summary>The embedded store, DIR/coapenroll.db: one node.</summary>
    public const string SqliteProvider = "sqlite";

    /// <summary>A PostgreSQL database (<see cref="StoreConnectionStringKey"/>), which several nodes may share.</summary>
    public const string PostgresProvider = "postgres";

    private readonly IConfiguration _configuration;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger<CertificationServices> _logger;
    private readonly TimeProvider _time;

    // Two gates, never held together: the bootstrap may take long (key generation), the store and services are built on its result.
    private readonly SemaphoreSlim _bootstrapGate = new(1, 1);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private CaBootstrapResult? _bootstrap;
    private ICertificateAuthorityStore? _store;
    private CertificateAuthority? _authority;
    private EnrollmentService? _enrollment;

    public CertificationServices(IConfiguration configuration, ILoggerFactory loggerFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(time);
        _configuration = configuration;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<CertificationServices>();
        _time = time;
        DataDirectory = Path.GetFullPath(configuration[DataDirectoryKey] is { Length: > 0 } dir ? dir : DefaultDataDirectory);
        Layout = new CaDataLayout(DataDirectory);
    }

    /// <summary>The full path of the data directory (<c>DataDirectory</c>, default ./data).</summary>
    public string DataDirectory { get; }

    /// <summary>Where the files are in it.</summary>
    public CaDataLayout Layout { get; }

    /// <summary>
    /// True when the data directory had no DIR/trust-anchor.pem before the hierarchy was loaded (the bootstrap has just created the
    /// demo PKI, or an operator CA is configured, which writes none), or when an earlier start made it and never printed the
    /// first-start hints (<see cref="CaDataLayout.FirstStartHintsPending"/>). Null until then.
    /// </summary>
    public bool? IsFirstStart { get; private set; }

    /// <summary>The EST settings (the <c>Est</c> section) the enrollment service was built with, once it is.</summary>
    public EstServerOptions? EstOptions { get; private set; }

    /// <summary>The CA hierarchy, once loaded.</summary>
    /// <exception cref="InvalidOperationException">Not loaded yet: the host has not started.</exception>
    public CaHierarchy Hierarchy => _bootstrap?.Hierarchy ?? throw NotLoaded(nameof(CaHierarchy));

    /// <summary>The server's (D)TLS credential, once loaded.</summary>
    /// <exception cref="InvalidOperationException">Not loaded yet: the host has not started.</exception>
    public ServerCredential ServerCredential => _bootstrap?.ServerCredential ?? throw NotLoaded(nameof(Hosting.ServerCredential));

    /// <summary>
    /// Whether the store is the SQLite file DIR/coapenroll.db (<see cref="StoreProviderKey"/> unset or <see cref="SqliteProvider"/>),
    /// which exists once a server has run in the data directory; false for PostgreSQL.
    /// </summary>
    public bool StoreIsDatabaseFile => !string.Equals(_configuration[StoreProviderKey], PostgresProvider, StringComparison.OrdinalIgnoreCase);

    /// <summary>Where the store is, for messages: the SQLite file, or the PostgreSQL host and database (never the password).</summary>
    public string StoreLocation
    {
        get
        {
            if (StoreIsDatabaseFile)
            {
                return Layout.Database;
            }

            try
            {
                var settings = new Npgsql.NpgsqlConnectionStringBuilder(_configuration[StoreConnectionStringKey]);
                return $"PostgreSQL database {settings.Database} on {settings.Host}";
            }
            catch (ArgumentException)
            {
                return "the PostgreSQL database of Store:ConnectionString";
            }
        }
    }

    /// <summary>The certificate store, once open.</summary>
    /// <exception cref="InvalidOperationException">Not open yet (the host has not started), or closed.</exception>
    public ICertificateAuthorityStore Store => _store ?? throw NotLoaded(nameof(ICertificateStore));

    /// <summary>The CA, once built.</summary>
    /// <exception cref="InvalidOperationException">Not built yet: the host has not started.</exception>
    public CertificateAuthority Authority => _authority ?? throw NotLoaded(nameof(CertificateAuthority));

    /// <summary>The enrollment service, once built.</summary>
    /// <exception cref="InvalidOperationException">Not built yet: the host has not started.</exception>
    public EnrollmentService Enrollment => _enrollment ?? throw NotLoaded(nameof(EnrollmentService));

    /// <summary>Creates the data directory and builds everything: a bad file or setting stops the host before any front end listens.</summary>
    /// <exception cref="CaConfigurationException">A configured or stored file is missing, unreadable or does not fit.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(DataDirectory);
        LogDataDirectory(DataDirectory);
        await GetEnrollmentAsync(cancellationToken);
        if (CmpEnabled)
        {
            await GetCmpServerAsync(cancellationToken);
        }
    }

    /// <summary>Closes the store. Registered before the front ends, this runs after they have stopped.</summary>
    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    /// <inheritdoc/>
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Every hosted service has started (and printed its hints): later starts owe no first-start hints.</summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        FirstStartHintsShown();
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The CA hierarchy, loaded (or on first start created) once.</summary>
    /// <exception cref="CaConfigurationException">A configured or stored file is missing, unreadable or does not fit.</exception>
    public async Task<CaHierarchy> GetHierarchyAsync(CancellationToken cancellationToken) => (await GetBootstrapAsync(cancellationToken)).Hierarchy;

    /// <summary>The server's (D)TLS credential, loaded (or created, or re-issued near its expiry) with the hierarchy.</summary>
    /// <exception cref="CaConfigurationException">A configured or stored file is missing, unreadable or does not fit.</exception>
    public async Task<ServerCredential> GetServerCredentialAsync(CancellationToken cancellationToken) => (await GetBootstrapAsync(cancellationToken)).ServerCredential;

    /// <summary>
    /// The certificate store, opened once (and its schema created or migrated): SQLite in DIR/coapenroll.db unless
    /// <see cref="StoreProviderKey"/> is <see cref="PostgresProvider"/>. Does not load the hierarchy.
    /// </summary>
    /// <exception cref="CaConfigurationException">The Store settings are unknown or incomplete.</exception>
    public async Task<ICertificateAuthorityStore> GetStoreAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _store ??= await OpenStoreAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The CA with the profiles of the <c>Ca</c> section, built once.</summary>
    public async Task<CertificateAuthority> GetAuthorityAsync(CancellationToken cancellationToken)
    {
        CaBootstrapResult bootstrap = await GetBootstrapAsync(cancellationToken);
        ICertificateAuthorityStore store = await GetStoreAsync(cancellationToken);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // The names of the server's own credential are never issued to a device.
            if (_authority is null)
            {
                CaOptions options = LoadCaOptions();
                _authority = new CertificateAuthority(bootstrap.Hierarchy, store, CertificateProfileCatalog.FromOptions(options),
                    new ReservedNames(bootstrap.Hierarchy, [bootstrap.ServerCredential.Certificate]), _loggerFactory.CreateLogger<CertificateAuthority>(), _time)
                {
                    CrlValidity = options.CrlValidity,
                    MaxPendingRequests = options.MaxPendingRequests,
                    MaxPendingRequestsPerIdentity = options.MaxPendingRequestsPerIdentity,
                };
            }

            return _authority;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The enrollment service, built once, configured by the <c>Est</c> section (<see cref="EstServerOptions"/>). Server-generated
    /// keys are derived from DIR/ca/keygen.secret (created on first use) unless Est:KeyGenerationSecret is set, so that a pending
    /// /skg request still completes after a restart; encrypted ones are signed with the <see cref="ServerCredential"/>.
    /// </summary>
    public async Task<EnrollmentService> GetEnrollmentAsync(CancellationToken cancellationToken)
    {
        CertificateAuthority authority = await GetAuthorityAsync(cancellationToken);
        CaBootstrapResult bootstrap = await GetBootstrapAsync(cancellationToken);
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

                estOptions.KeyGenerationSecret ??= await LoadOrCreateKeyGenerationSecretAsync(Path.Combine(bootstrap.Hierarchy.Layout.CaDirectory, "keygen.secret"), cancellationToken);

                // RFC 7030 §4.4.2: the party that generated the key signs it; here that is the server, with the credential devices already trust.
                if (estOptions.KeyGenerationSigner is null)
                {
                    estOptions.KeyGenerationSigner = bootstrap.ServerCredential.Certificate;
                    foreach (X509Certificate2 intermediate in bootstrap.ServerCredential.Intermediates)
                    {
                        estOptions.KeyGenerationSignerIntermediates.Add(intermediate);
                    }
                }

                EnrollmentOptions enrollmentOptions = EstCoapsServer.CreateEnrollmentOptions(estOptions);
                enrollmentOptions.TrustRegistrarsOfThisCa = LoadCaOptions().TrustRegistrarsOfThisCa;
                _enrollment = new EnrollmentService(authority, bootstrap.Hierarchy, enrollmentOptions,
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
        ICertificateAuthorityStore? store = Interlocked.Exchange(ref _store, null);
        if (store is not null)
        {
            await store.DisposeAsync();
        }

        // A token's key: its sessions close and the module is finalized when no other key of the process uses it.
        _bootstrap?.Hierarchy.IssuingKey.Dispose();
    }

    // The host's container disposes synchronously when its owner does; the store is normally closed by then (StopAsync).
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Checks <see cref="StoreProviderKey"/> and <see cref="StoreConnectionStringKey"/> without connecting: a host calls it before
    /// it starts, so that a typo is named as such rather than as a failure to open the store.
    /// </summary>
    /// <exception cref="CaConfigurationException">An unknown provider, a postgres provider without (or with a malformed) connection string, or a connection string with SQLite.</exception>
    public void CheckStoreSettings() => ReadStoreSettings();

    private (bool Postgres, string? ConnectionString) ReadStoreSettings()
    {
        string provider = _configuration[StoreProviderKey] is { Length: > 0 } configured ? configured : SqliteProvider;
        string? connectionString = _configuration[StoreConnectionStringKey];
        if (string.Equals(provider, SqliteProvider, StringComparison.OrdinalIgnoreCase))
        {
            return connectionString is { Length: > 0 }
                ? throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting,
                    $"{StoreConnectionStringKey} applies to {StoreProviderKey}={PostgresProvider}; the SQLite store is {Layout.Database}")
                : (false, null);
        }

        if (!string.Equals(provider, PostgresProvider, StringComparison.OrdinalIgnoreCase))
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting, $"{StoreProviderKey} '{provider}' is not one of {SqliteProvider}, {PostgresProvider}");
        }

        if (connectionString is not { Length: > 0 })
        {
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting,
                $"{StoreProviderKey}={PostgresProvider} needs {StoreConnectionStringKey} (e.g. Host=db.example;Database=coapenroll;Username=coapenroll;Password=…)");
        }

        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            // Npgsql's message names the keyword, never the password.
            throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting, $"{StoreConnectionStringKey}: {ex.Message}", ex);
        }

        return (true, connectionString);
    }

    private async Task<ICertificateAuthorityStore> OpenStoreAsync(CancellationToken cancellationToken)
    {
        (bool postgres, string? connectionString) = ReadStoreSettings();
        return postgres
            ? await PostgresCertificateStore.OpenAsync(connectionString!, _time, cancellationToken)
            : await SqliteCertificateStore.OpenAsync(Layout.Database, _time, cancellationToken);
    }

    /// <summary>
    /// Loads the hierarchy, or makes the demo PKI (and, with <paramref name="createKey"/>, a token key) as a first start does, and
    /// records whether this is a first start. Called under <c>_bootstrapGate</c>.
    /// </summary>
    private async Task<CaBootstrapResult> LoadOrCreateLockedAsync(bool createKey, CancellationToken cancellationToken)
    {
        bool creating = !File.Exists(Layout.TrustAnchor);
        CaOptions options = LoadCaOptions();
        NoteHintsOwed(creating && options.CertificateFile is null);
        CaBootstrapResult bootstrap = await CaBootstrap.LoadOrCreateAsync(options, LoadServerCredentialOptions(), CreateKeyProvider(options), createKey, _time,
            _loggerFactory.CreateLogger(typeof(CaBootstrap)), cancellationToken);
        IsFirstStart = creating || File.Exists(Layout.FirstStartHintsPending);
        return bootstrap;
    }

    /// <summary>
    /// Marks the hints as owed (<see cref="CaDataLayout.FirstStartHintsPending"/>) before the demo PKI is made: a start that then
    /// fails (a port in use; a token key that `ca init` must make first) leaves them owed to the next start. An operator's CA
    /// writes no trust anchor, so every start counts as a first one, as before, and no file is left.
    /// </summary>
    private void NoteHintsOwed(bool makingTheDemoPki)
    {
        if (makingTheDemoPki)
        {
            try
            {
                File.WriteAllText(Layout.FirstStartHintsPending, "serve prints how to enroll the demo device at its next start, then removes this file\n");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Only the hints depend on it; this start prints them anyway.
            }
        }
    }

    /// <summary>Once the server has started and printed the first-start hints: later starts do not print them again.</summary>
    private void FirstStartHintsShown()
    {
        try
        {
            File.Delete(Layout.FirstStartHintsPending);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The hints are printed once more at the next start: harmless.
        }
    }

    private async Task<CaBootstrapResult> GetBootstrapAsync(CancellationToken cancellationToken)
    {
        await _bootstrapGate.WaitAsync(cancellationToken);
        try
        {
            if (_bootstrap is null)
            {
                _bootstrap = await LoadOrCreateLockedAsync(createKey: false, cancellationToken);
            }

            return _bootstrap;
        }
        finally
        {
            _bootstrapGate.Release();
        }
    }

    /// <summary>
    /// <c>coapenroll ca init</c>: loads or creates the hierarchy as a first start does and, with <c>Ca:KeyProvider=Pkcs11</c>,
    /// generates the issuing key on the token when it has none (or uses the one there) and issues DIR/ca/issuing.pem for it.
    /// </summary>
    /// <exception cref="CaConfigurationException">A file, the token, the PIN or a setting is wrong.</exception>
    public async Task<CaHierarchy> InitializeCaAsync(CancellationToken cancellationToken)
    {
        await _bootstrapGate.WaitAsync(cancellationToken);
        try
        {
            if (_bootstrap is null)
            {
                Directory.CreateDirectory(DataDirectory);
                _bootstrap = await LoadOrCreateLockedAsync(createKey: true, cancellationToken);
            }

            return _bootstrap.Hierarchy;
        }
        finally
        {
            _bootstrapGate.Release();
        }
    }

    /// <summary>
    /// The provider of the issuing key named by <c>Ca:KeyProvider</c>: null for PEM files (the default), a PKCS#11 token for
    /// <see cref="Pkcs11KeyProvider.Name"/> (settings in <c>Ca:Pkcs11</c>).
    /// </summary>
    /// <exception cref="CaConfigurationException">An unknown provider, or incomplete Ca:Pkcs11 settings.</exception>
    public ICaKeyProvider? CreateKeyProvider() => CreateKeyProvider(LoadCaOptions());

    private ICaKeyProvider? CreateKeyProvider(CaOptions options)
    {
        if (string.Equals(options.KeyProvider, CaOptions.FileKeyProvider, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return string.Equals(options.KeyProvider, Pkcs11KeyProvider.Name, StringComparison.OrdinalIgnoreCase)
            ? new Pkcs11KeyProvider(Pkcs11KeyOptions.Bind(_configuration), _loggerFactory.CreateLogger<Pkcs11KeyProvider>(), _time)
            : throw new CaConfigurationException(null, CaConfigurationProblem.InvalidSetting,
                $"Ca:KeyProvider '{options.KeyProvider}' is not one of {CaOptions.FileKeyProvider}, {Pkcs11KeyProvider.Name}");
    }

    /// <summary>
    /// Rolls the CA's own root over to a new key (<see cref="CaRootRollover"/>) and records it in the audit log as
    /// <c>root-rollover</c> by <paramref name="actor"/>. The hierarchy this instance has loaded is not changed: a server picks the
    /// update up when it starts, or with <see cref="RefreshRootCaKeyUpdateAsync"/> while it runs.
    /// </summary>
    public async Task<RootCaKeyUpdate> RollOverRootCaAsync(string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ICertificateAuthorityStore store = await GetStoreAsync(cancellationToken);
        RootCaKeyUpdate update = await CaRootRollover.RollOverAsync(LoadCaOptions(), _time, cancellationToken);
        await store.AppendAuditAsync(new AuditEntry
        {
            Timestamp = _time.GetUtcNow(),
            Actor = actor.Length == 0 ? "(none)" : actor,
            Action = "root-rollover",
            Details = $"new root {update.NewWithNew.Subject} serial {update.NewWithNew.SerialNumber} SHA-256 {update.NewWithNew.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)}"
                + $" replaces serial {update.OldWithOld.SerialNumber}; newWithOld {update.NewWithOld.SerialNumber}, oldWithNew {update.OldWithNew.SerialNumber}",
        }, cancellationToken);
        return update;
    }

    /// <summary>
    /// Adopts a root CA key update that <c>coapenroll ca rollover</c> made while this host runs (DIR/ca/new-with-new.pem appeared):
    /// from then on genm rootCaCert answers with it and the CMP announcer announces it. Returns the update in force, if any.
    /// </summary>
    /// <exception cref="CaConfigurationException">The update's files are incomplete or do not fit the trust anchor.</exception>
    public async Task<RootCaKeyUpdate?> RefreshRootCaKeyUpdateAsync(CancellationToken cancellationToken)
    {
        CertificateAuthority authority = await GetAuthorityAsync(cancellationToken);
        if (authority.RootCaKeyUpdate is not null || LoadCaOptions().CertificateFile is not null)
        {
            return authority.RootCaKeyUpdate;
        }

        return await CaBootstrap.LoadRootCaKeyUpdateAsync(Layout, authority.TrustAnchor, _logger, cancellationToken) is { } update
            ? authority.AdoptRootCaKeyUpdate(update)
            : null;
    }

    // The Ca section (profiles, manufacturer CAs, …) with the data directory always the host's.
    private CaOptions LoadCaOptions()
    {
        CaOptions options = CaOptions.Bind(_configuration);
        options.DataDirectory = DataDirectory;
        return options;
    }

    // Ca:ServerCertificateFile (the older key) wins over Dtls:CertificateFile; each comes with its own key file setting.
    private ServerCredentialOptions LoadServerCredentialOptions() =>
        _configuration[$"{CaOptions.SectionName}:ServerCertificateFile"] is { } certificate
            ? new ServerCredentialOptions { CertificateFile = certificate, KeyFile = _configuration[$"{CaOptions.SectionName}:ServerKeyFile"] }
            : new ServerCredentialOptions
            {
                CertificateFile = _configuration[$"{DtlsListenOptions.SectionName}:{nameof(DtlsListenOptions.CertificateFile)}"],
                KeyFile = _configuration[$"{DtlsListenOptions.SectionName}:{nameof(DtlsListenOptions.KeyFile)}"],
            };

    private static InvalidOperationException NotLoaded(string what) =>
        new($"The {what} is built when the host starts (CertificationServices.StartAsync); use the Get…Async methods of CertificationServices before that.");

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

    [LoggerMessage(1, LogLevel.Information, "Data directory: {DataDirectory}")]
    private partial void LogDataDirectory(string dataDirectory);
}
