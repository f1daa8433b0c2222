using System.Globalization;

namespace CoapEnroll.Hosting;

/// <summary>
/// The <c>Upstream</c> configuration section: the HTTP(S) servers this node forwards to when it is the box at the edge (RFC 9482
/// §4, RFC 9148 §5), and how it talks to them. One pooled HTTP client (<see cref="UpstreamHttp"/>) and one set of bounds serve
/// every upstream protocol; each protocol has its own URI setting (<see cref="Cmp"/>; an <c>Est</c> setting belongs next to it).
/// </summary>
/// <remarks>
/// Defaults: no upstream (everything is served locally), the system's trust store for the upstream's certificate, no client
/// certificate, a 30 s timeout, 64 requests in flight upstream in total and 2 per CoAP client, answers up to 1 MiB.
/// </remarks>
public sealed class UpstreamOptions
{
    public const string SectionName = "Upstream";

    /// <summary>
    /// The HTTP(S) CMP server (RFC 9811) the CoAP CMP resources forward to, e.g. <c>https://ca.example/.well-known/cmp</c>; when set,
    /// this node does not answer CMP itself (no local CMP server, over CoAP or HTTP). Null: CMP is served locally.
    /// </summary>
    public string? Cmp { get; set; }

    /// <summary>
    /// The EST server over HTTPS (RFC 7030) the EST-coaps resources forward to as a registrar (RFC 9148 §5),
    /// <c>https://HOST[:PORT][/.well-known/est[/LABEL]]</c>; when set, this node issues nothing over EST itself. The client certificate
    /// (<see cref="CertificateFile"/>) should carry id-kp-cmcRA, so that the server trusts this node's checks of the devices.
    /// </summary>
    public string? Est { get; set; }

    /// <summary>PEM file of the client certificate (first, then its chain) presented in TLS to an https:// upstream; optional.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM file (PKCS#8) of the key of <see cref="CertificateFile"/>; set both or neither.</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// PEM file of the trust anchors for an https:// upstream's certificate. When set, the upstream's certificate must chain to one
    /// of them and only them (the system's store is not consulted); the host name is checked either way.
    /// </summary>
    public string? TrustFile { get; set; }

    /// <summary>Seconds one forwarded request may take, connecting included, before the CoAP client gets 5.04.</summary>
    public double TimeoutSeconds { get; set; } = 30;

    /// <summary>Requests in flight upstream for all CoAP clients together; past it a client gets 5.03 with Max-Age.</summary>
    public int MaxConcurrent { get; set; } = 64;

    /// <summary>Requests in flight upstream for one CoAP client (a UDP address and port, or a DTLS session); past it 4.29.</summary>
    public int MaxConcurrentPerPeer { get; set; } = 2;

    /// <summary>The largest upstream answer in bytes passed on to a CoAP client; a larger one is a 5.02.</summary>
    public int MaxResponseBytes { get; set; } = 1024 * 1024;

    /// <summary>True when any upstream is configured.</summary>
    public bool Any => Cmp is { Length: > 0 } || Est is { Length: > 0 };

    /// <summary>The EST upstream as a URI, or null when none is configured (see <see cref="Validate"/>).</summary>
    public Uri? EstUri => Est is { Length: > 0 } est && Uri.TryCreate(est, UriKind.Absolute, out Uri? uri) ? uri : null;

    /// <summary>The CMP upstream as a URI, or null when none is configured (see <see cref="Validate"/>).</summary>
    public Uri? CmpUri => Cmp is { Length: > 0 } cmp && Uri.TryCreate(cmp, UriKind.Absolute, out Uri? uri) ? uri : null;

    /// <summary>The timeout as a <see cref="TimeSpan"/>.</summary>
    public TimeSpan Timeout => TimeSpan.FromSeconds(TimeoutSeconds);

    /// <summary>The problem with the settings (naming its configuration key), or null when they are usable.</summary>
    public string? Validate()
    {
        if (Cmp is { Length: > 0 } cmp && CheckUri($"{SectionName}:{nameof(Cmp)}", cmp) is { } cmpProblem)
        {
            return cmpProblem;
        }

        if (Est is { Length: > 0 } est && CheckEstUri($"{SectionName}:{nameof(Est)}", est) is { } estProblem)
        {
            return estProblem;
        }

        if (CertificateFile is { Length: > 0 } != KeyFile is { Length: > 0 })
        {
            return $"{SectionName}:{nameof(CertificateFile)} and {SectionName}:{nameof(KeyFile)} (--upstream-cert, --upstream-key) go together: set both or neither.";
        }

        foreach ((string key, string? file) in new[] { (nameof(CertificateFile), CertificateFile), (nameof(KeyFile), KeyFile), (nameof(TrustFile), TrustFile) })
        {
            if (file is { Length: > 0 } && !File.Exists(file))
            {
                return $"{SectionName}:{key} '{file}': no such file.";
            }
        }

        if (!double.IsFinite(TimeoutSeconds) || TimeoutSeconds <= 0 || TimeoutSeconds > 3600)
        {
            return $"{SectionName}:{nameof(TimeoutSeconds)} {TimeoutSeconds.ToString(CultureInfo.InvariantCulture)} must be more than 0 and at most 3600.";
        }

        if (MaxConcurrent < 1)
        {
            return $"{SectionName}:{nameof(MaxConcurrent)} {MaxConcurrent} must be at least 1.";
        }

        if (MaxConcurrentPerPeer < 1)
        {
            return $"{SectionName}:{nameof(MaxConcurrentPerPeer)} {MaxConcurrentPerPeer} must be at least 1.";
        }

        return MaxResponseBytes < 1 ? $"{SectionName}:{nameof(MaxResponseBytes)} {MaxResponseBytes} must be at least 1." : null;
    }

    /// <summary>The problem with an EST upstream URI (<c>https://HOST[:PORT][/.well-known/est[/LABEL]]</c>), or null.</summary>
    public static string? CheckEstUri(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return !Uri.TryCreate(value, UriKind.Absolute, out Uri? uri)
            ? $"{key} '{value}' is not an absolute https:// URL (e.g. https://ca.example/.well-known/est)."
            : CoapEnroll.Est.Upstream.EstHttpsClient.TryParseServer(uri, out _, out _, out string? problem) ? null : $"{key}: {problem}.";
    }

    /// <summary>The problem with an upstream URI (absolute http:// or https:// with a host, no query, fragment or user information), or null.</summary>
    public static string? CheckUri(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            return $"{key} '{value}' is not an absolute http:// or https:// URL (e.g. https://ca.example/.well-known/cmp).";
        }

        return uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0
            ? $"{key} '{value}' must have no query, fragment or user information."
            : null;
    }
}
