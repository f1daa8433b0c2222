using CoapEnroll.Ca;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Ca.Pkcs11;

/// <summary>The issuing CA key on a PKCS#11 token (<c>Ca:KeyProvider=Pkcs11</c>, settings in <see cref="Pkcs11KeyOptions"/>).</summary>
public sealed class Pkcs11KeyProvider : ICaKeyProvider
{
    /// <summary>The value of <c>Ca:KeyProvider</c> that selects this provider.</summary>
    public const string Name = "Pkcs11";

    private readonly Pkcs11KeyOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <exception cref="CaConfigurationException">The options are incomplete or contradict each other.</exception>
    public Pkcs11KeyProvider(Pkcs11KeyOptions options, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    public string Description => $"PKCS#11 {_options.KeyDescription} on {_options.TokenDescription} ({_options.Module})";

    // The module's calls block; they run on the thread pool so that a slow token does not hold up the caller's thread.
    public Task<CaSigningKey> OpenAsync(bool createIfMissing, CancellationToken cancellationToken) =>
        Task.Run<CaSigningKey>(() => Pkcs11SigningKey.Open(_options, createIfMissing, _logger, _time), cancellationToken);
}
