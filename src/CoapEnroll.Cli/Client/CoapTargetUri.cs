using System.Net;
using System.Net.Sockets;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Client;

/// <summary>
/// A parsed <c>coap://</c> or <c>coaps://</c> URI (RFC 7252 §6.1, §6.2) and its decomposition into
/// request options (§6.4).
/// </summary>
/// <remarks>
/// Private stand-in for the library's planned <c>CoapUri</c> (same member names: <c>Parse</c>,
/// <c>Scheme</c>, <c>Host</c>, <c>Port</c>, <c>IsSecure</c>, <c>PathSegments</c>, <c>QueryParts</c>,
/// <c>ApplyTo</c>, <c>ResolveAsync</c>). Replace it with <c>CoapUri</c> once that is merged; the
/// only caller is <see cref="CoapRequestCommand"/>.
/// </remarks>
internal sealed class CoapTargetUri
{
    public const int DefaultPort = 5683;
    public const int DefaultSecurePort = 5684;

    private CoapTargetUri(string scheme, string host, int port, IReadOnlyList<string> pathSegments, IReadOnlyList<string> queryParts)
    {
        Scheme = scheme;
        Host = host;
        Port = port;
        PathSegments = pathSegments;
        QueryParts = queryParts;
    }

    public string Scheme { get; }

    /// <summary>The host without brackets: a name, an IPv4 address or an IPv6 address.</summary>
    public string Host { get; }

    public int Port { get; }

    public bool IsSecure => Scheme == "coaps";

    /// <summary>Uri-Path segments, percent-decoded.</summary>
    public IReadOnlyList<string> PathSegments { get; }

    /// <summary>Uri-Query parts (split at '&amp;'), percent-decoded.</summary>
    public IReadOnlyList<string> QueryParts { get; }

    /// <summary>True when the host is an IP literal, so no Uri-Host option is needed (§6.4 step 5).</summary>
    public bool HostIsAddress => IPAddress.TryParse(Host, out _);

    /// <summary>Parses an absolute coap or coaps URI.</summary>
    /// <exception cref="CoapProtocolException">With <see cref="CoapError.InvalidUri"/> when it is not one.</exception>
    public static CoapTargetUri Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            throw Invalid(text, "not an absolute URI");
        }

        string scheme = uri.Scheme.ToLowerInvariant();
        if (scheme is not ("coap" or "coaps"))
        {
            throw Invalid(text, $"scheme '{uri.Scheme}' is not coap or coaps");
        }

        // §6.2: a fragment component is not allowed. Uri keeps "#" even when it is empty.
        if (text.Contains('#', StringComparison.Ordinal))
        {
            throw Invalid(text, "fragments are not allowed");
        }

        string host = uri.Host;
        if (host.Length == 0)
        {
            throw Invalid(text, "the host is missing");
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        int port = uri.IsDefaultPort || uri.Port < 0 ? (scheme == "coaps" ? DefaultSecurePort : DefaultPort) : uri.Port;
        if (port is 0 or > 65535)
        {
            throw Invalid(text, $"port {port} is out of range");
        }

        // Split before decoding so that an escaped "/" or "&" stays inside its segment (§6.4 steps 8, 9).
        string path = uri.GetComponents(UriComponents.Path, UriFormat.UriEscaped);
        string[] segments = path.Length == 0
            ? []
            : path.Split('/').Select(Uri.UnescapeDataString).ToArray();

        string query = uri.GetComponents(UriComponents.Query, UriFormat.UriEscaped);
        string[] queryParts = query.Length == 0 ? [] : query.Split('&').Select(Uri.UnescapeDataString).ToArray();

        foreach (string part in segments.Concat(queryParts))
        {
            if (System.Text.Encoding.UTF8.GetByteCount(part) > 255)
            {
                throw Invalid(text, "a path segment or query part is longer than 255 bytes");
            }
        }

        return new CoapTargetUri(scheme, host, port, segments, queryParts);
    }

    /// <summary>Sets Uri-Host (for names), Uri-Path and Uri-Query on <paramref name="request"/> (§6.4).</summary>
    public CoapMessage ApplyTo(CoapMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var options = request.Options
            .Remove(CoapOptionNumber.UriHost)
            .Remove(CoapOptionNumber.UriPath)
            .Remove(CoapOptionNumber.UriQuery);
        if (!HostIsAddress)
        {
            options = options.Add(CoapOption.FromString(CoapOptionNumber.UriHost, Host.ToLowerInvariant()));
        }

        foreach (string segment in PathSegments)
        {
            options = options.Add(CoapOption.FromString(CoapOptionNumber.UriPath, segment));
        }

        foreach (string part in QueryParts)
        {
            options = options.Add(CoapOption.FromString(CoapOptionNumber.UriQuery, part));
        }

        return request with { Options = options };
    }

    /// <summary>The endpoint to send to: the literal address, or the first address the name resolves to.</summary>
    /// <exception cref="CoapProtocolException">With <see cref="CoapError.InvalidUri"/> when the name does not resolve.</exception>
    public async ValueTask<IPEndPoint> ResolveAsync(CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(Host, out var address))
        {
            return new IPEndPoint(address, Port);
        }

        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken);
        }
        catch (SocketException ex)
        {
            throw new CoapProtocolException(CoapError.InvalidUri, $"Cannot resolve host '{Host}': {ex.Message}", ex);
        }

        // Prefer IPv4 for names like "localhost": a server bound to 0.0.0.0 only is the common case.
        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new CoapProtocolException(CoapError.InvalidUri, $"Host '{Host}' has no addresses.");
        return new IPEndPoint(chosen, Port);
    }

    public override string ToString()
    {
        string host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
        string path = string.Join('/', PathSegments.Select(Uri.EscapeDataString));
        string query = QueryParts.Count == 0 ? string.Empty : "?" + string.Join('&', QueryParts.Select(Uri.EscapeDataString));
        return $"{Scheme}://{host}:{Port}/{path}{query}";
    }

    private static CoapProtocolException Invalid(string text, string reason)
        => new(CoapError.InvalidUri, $"Invalid CoAP URI '{text}': {reason}.");
}
