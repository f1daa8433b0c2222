namespace CoapEnroll.Cmp;

/// <summary>Settings of a <see cref="CmpCoapProxy"/>.</summary>
public sealed class CmpCoapProxyOptions
{
    /// <summary>The default <see cref="Timeout"/>: 30 s, well inside the 90 s a CoAP client waits for a separate response.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The upstream HTTP(S) CMP server's URI: <c>/.well-known/cmp</c> is forwarded to it as given, the other paths below it (see
    /// <see cref="CmpCoapProxy.MapUri"/>). Absolute, http or https, without query or fragment.
    /// </summary>
    public required Uri Upstream { get; init; }

    /// <summary>How long one forwarded request may take, from sending to the last byte of the answer; then the client gets 5.04.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>The largest upstream answer passed on (1 MiB by default); a larger one is a 5.02.</summary>
    public int MaxResponseBytes { get; init; } = 1024 * 1024;

    /// <summary>The Max-Age (seconds) sent with 5.03 and 4.29 when the upstream gives no Retry-After; 10 by default.</summary>
    public uint RetryAfterSeconds { get; init; } = 10;

    /// <summary>The problem with the settings, or null when they are usable.</summary>
    public string? Validate()
    {
        if (!Upstream.IsAbsoluteUri || Upstream.Scheme is not ("http" or "https") || Upstream.Host.Length == 0)
        {
            return $"the upstream CMP server '{Upstream}' must be an absolute http:// or https:// URI";
        }

        if (Upstream.Query.Length > 0 || Upstream.Fragment.Length > 0 || Upstream.UserInfo.Length > 0)
        {
            return $"the upstream CMP server '{Upstream}' must have no query, fragment or user information";
        }

        if (Timeout <= TimeSpan.Zero)
        {
            return "the upstream timeout must be positive";
        }

        return MaxResponseBytes < 1 ? "the largest upstream answer must be at least 1 byte" : null;
    }
}
