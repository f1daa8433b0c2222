using CoapEnroll.Ca;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Cli.Serve;

/// <summary>
/// Loads the CA hierarchy once per host (<see cref="CaBootstrap.LoadOrCreateAsync"/>): on first start in an empty data
/// directory that creates the demo root CA (DIR/trust-anchor.pem), the server certificate for localhost, 127.0.0.1
/// and ::1 (DIR/server.pem, DIR/server.key) and the demo device identity (DIR/demo). The <c>Ca</c> section configures
/// it; its data directory is always the server's. <c>Dtls:CertificateFile</c>/<c>Dtls:KeyFile</c> supply the server
/// credential when <c>Ca:ServerCertificateFile</c> does not.
/// </summary>
internal sealed class CaHierarchyProvider
{
    private readonly IConfiguration _configuration;
    private readonly ILogger<CaHierarchyProvider> _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private CaHierarchy? _hierarchy;

    public CaHierarchyProvider(IConfiguration configuration, TimeProvider time, ILogger<CaHierarchyProvider> logger)
    {
        _configuration = configuration;
        _time = time;
        _logger = logger;
    }

    /// <summary>Loads (first call) or returns the hierarchy.</summary>
    /// <exception cref="CaConfigurationException">A configured or stored file is missing, unreadable or does not fit.</exception>
    public async Task<CaHierarchy> GetAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_hierarchy is null)
            {
                CaOptions options = LoadOptions(dataDirectory);
                var dtls = _configuration.GetSection(DtlsListenOptions.SectionName).Get<DtlsListenOptions>() ?? new DtlsListenOptions();
                if (options.ServerCertificateFile is null && dtls.CertificateFile is not null)
                {
                    options.ServerCertificateFile = dtls.CertificateFile;
                    options.ServerKeyFile = dtls.KeyFile;
                }

                _hierarchy = await CaBootstrap.LoadOrCreateAsync(options, _time, _logger, cancellationToken);
            }

            return _hierarchy;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The <c>Ca</c> section (profiles, manufacturer CAs, …) with the data directory set to <paramref name="dataDirectory"/>.</summary>
    public CaOptions LoadOptions(string dataDirectory) => LoadOptions(_configuration, dataDirectory);

    /// <inheritdoc cref="LoadOptions(string)"/>
    public static CaOptions LoadOptions(IConfiguration configuration, string dataDirectory)
    {
        var options = configuration.GetSection(CaOptions.SectionName).Get<CaOptions>() ?? new CaOptions();
        options.DataDirectory = dataDirectory;
        return options;
    }
}
