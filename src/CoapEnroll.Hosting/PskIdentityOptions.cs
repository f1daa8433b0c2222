namespace CoapEnroll.Hosting;

/// <summary>
/// One entry of <c>Dtls:PskIdentities</c>: a PSK identity given as a value rather than a configuration key, for identities
/// a key cannot hold (a <c>:</c>, a <c>__</c> in an environment variable, or two that differ only in case, as keys do not).
/// </summary>
public sealed class PskIdentityOptions
{
    /// <summary>The identity, compared byte for byte (UTF-8) with what the client sends.</summary>
    public string? Identity { get; set; }

    /// <summary>The key in hex.</summary>
    public string? Key { get; set; }
}
