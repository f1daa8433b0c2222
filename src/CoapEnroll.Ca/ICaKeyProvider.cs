namespace CoapEnroll.Ca;

/// <summary>
/// A place where the issuing CA's key is kept other than a PEM file (<c>Ca:KeyProvider</c>): a PKCS#11 token. The host opens the
/// key once at start; <c>coapenroll ca init</c> may create it.
/// </summary>
public interface ICaKeyProvider
{
    /// <summary>Where the key is, for messages (never the PIN).</summary>
    string Description { get; }

    /// <summary>
    /// Opens the configured key; when <paramref name="createIfMissing"/> is set and the token has no such key, generates it there
    /// (not extractable, sensitive). The caller owns the result.
    /// </summary>
    /// <exception cref="CaConfigurationException">The module, token, PIN or key is wrong or missing (<see cref="CaConfigurationException.Problem"/> says which).</exception>
    Task<CaSigningKey> OpenAsync(bool createIfMissing, CancellationToken cancellationToken);
}
