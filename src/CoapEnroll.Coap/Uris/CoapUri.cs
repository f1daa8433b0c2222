using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using static CoapEnroll.Coap.CoapUriSyntax;

namespace CoapEnroll.Coap;

/// <summary>
/// An immutable, decoded <c>coap://</c> or <c>coaps://</c> URI (RFC 7252 §6.1, §6.2): the parts
/// that become the Uri-Host, Uri-Port, Uri-Path and Uri-Query options (§6.4), and back (§6.5).
/// Two instances are equal when their normal forms (§6.3) are equal.
/// </summary>
public sealed class CoapUri : IEquatable<CoapUri>
{
    /// <summary>The default port of the <c>coap</c> scheme (RFC 7252 §6.1).</summary>
    public const int DefaultPort = 5683;

    /// <summary>The default port of the <c>coaps</c> scheme (RFC 7252 §6.2).</summary>
    public const int DefaultSecurePort = 5684;

    /// <summary>The longest Uri-Host, Uri-Path and Uri-Query value (RFC 7252 §5.10, Table 4).</summary>
    private const int MaxOptionValueBytes = 255;

    private readonly string[] _pathSegments;
    private readonly string[] _queryParts;
    private readonly string _normalized;

    private CoapUri(string scheme, string host, IPAddress? hostAddress, string? zone, int port, string[] pathSegments, string[] queryParts)
    {
        Scheme = scheme;
        Host = host;
        HostAddress = hostAddress;
        Port = port;
        _pathSegments = pathSegments;
        _queryParts = queryParts;

        var sb = new StringBuilder(scheme.Length + host.Length + 16);
        sb.Append(scheme).Append("://");
        AppendHost(sb, host, hostAddress, zone);
        AppendPortAndResource(sb, scheme, port, pathSegments, queryParts);
        _normalized = sb.ToString();
    }

    /// <summary><c>coap</c> or <c>coaps</c>, lowercase.</summary>
    public string Scheme { get; }

    /// <summary>
    /// The host, decoded and in lowercase: a registered name, a dotted IPv4 address, or an IPv6
    /// address in RFC 5952 form without brackets (with <c>%zone</c> appended when the URI had one).
    /// </summary>
    public string Host { get; }

    /// <summary>The address when the host is an IP-literal or IPv4address; null for a registered name.</summary>
    public IPAddress? HostAddress { get; }

    /// <summary>The UDP port: the explicit one, or the scheme's default.</summary>
    public int Port { get; }

    /// <summary>True for <c>coaps</c> (DTLS, RFC 7252 §6.2).</summary>
    public bool IsSecure => Scheme == "coaps";

    /// <summary>The decoded path segments, one per Uri-Path option; empty for "" and "/" (RFC 7252 §6.4 step 8).</summary>
    public IReadOnlyList<string> PathSegments => _pathSegments;

    /// <summary>The decoded query arguments split at "&amp;", one per Uri-Query option (RFC 7252 §6.4 step 9).</summary>
    public IReadOnlyList<string> QueryParts => _queryParts;

    /// <summary>Parses an absolute coap or coaps URI.</summary>
    /// <exception cref="CoapProtocolException">With <see cref="CoapError.InvalidUri"/>, saying what is wrong.</exception>
    public static CoapUri Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        string? error = TryParseCore(uri, out CoapUri? result);
        return result ?? throw new CoapProtocolException(CoapError.InvalidUri, $"Invalid CoAP URI '{uri}': {error}");
    }

    /// <summary>Parses an absolute coap or coaps URI; false (and null) when it is not one.</summary>
    public static bool TryParse([NotNullWhen(true)] string? uri, [NotNullWhen(true)] out CoapUri? result)
    {
        result = null;
        return uri is not null && TryParseCore(uri, out result) is null;
    }

    /// <summary>
    /// Returns a copy of <paramref name="request"/> whose Uri-Host, Uri-Port, Uri-Path and Uri-Query
    /// options are replaced by this URI's (RFC 7252 §6.4). The request is assumed to be sent to
    /// <see cref="Port"/>, so no Uri-Port is included (step 7). Uri-Host is included only for a
    /// registered name (step 5: an IP literal is the destination address itself), and only when
    /// <paramref name="includeHost"/> is true; a server that hosts one origin can do without it.
    /// </summary>
    public CoapMessage ApplyTo(CoapMessage request, bool includeHost = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        var options = request.Options
            .Remove(CoapOptionNumber.UriHost)
            .Remove(CoapOptionNumber.UriPort)
            .Remove(CoapOptionNumber.UriPath)
            .Remove(CoapOptionNumber.UriQuery);

        var added = new List<CoapOption>(options.Count + _pathSegments.Length + _queryParts.Length + 1);
        added.AddRange(options);
        if (includeHost && HostAddress is null)
        {
            added.Add(CoapOption.FromString(CoapOptionNumber.UriHost, Host));
        }

        foreach (string segment in _pathSegments)
        {
            added.Add(CoapOption.FromString(CoapOptionNumber.UriPath, segment));
        }

        foreach (string part in _queryParts)
        {
            added.Add(CoapOption.FromString(CoapOptionNumber.UriQuery, part));
        }

        return request with { Options = CoapOptionCollection.Create(added) };
    }

    /// <summary>
    /// Composes the URI of a received request (RFC 7252 §6.5): Uri-Host, or else
    /// <paramref name="host"/> (the destination address or name); Uri-Port, or else
    /// <paramref name="port"/> (the destination port); then the Uri-Path and Uri-Query options,
    /// percent-encoded. The result is in normal form (§6.3).
    /// </summary>
    /// <param name="request">The request whose Uri-* options are read.</param>
    /// <param name="scheme"><c>coaps</c> when the request came over DTLS, otherwise <c>coap</c>.</param>
    /// <param name="host">The destination IP address (IPv6 with or without brackets) or host name.</param>
    /// <param name="port">The destination UDP port.</param>
    /// <exception cref="CoapProtocolException">With <see cref="CoapError.InvalidUri"/>: Uri-Host or Uri-Port is not valid.</exception>
    public static string FromOptions(CoapMessage request, string scheme, string host, int port)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, ushort.MaxValue);
        string normalizedScheme = ToAsciiLower(scheme ?? string.Empty);
        if (normalizedScheme is not ("coap" or "coaps"))
        {
            throw new ArgumentException($"Scheme '{scheme}' is neither coap nor coaps.", nameof(scheme));
        }

        var sb = new StringBuilder(64);
        sb.Append(normalizedScheme).Append("://");

        // Step 2: Uri-Host, else the destination address.
        string? uriHost = request.GetString(CoapOptionNumber.UriHost);
        if (!TryAppendComposedHost(sb, uriHost ?? host, out string? error))
        {
            throw new CoapProtocolException(CoapError.InvalidUri, uriHost is null ? $"Destination host '{host}' {error}" : $"Uri-Host '{uriHost}' {error}");
        }

        // Step 4: Uri-Port, else the destination port.
        if (request.Options.TryGet(CoapOptionNumber.UriPort, out CoapOption uriPort))
        {
            if (!uriPort.TryGetUInt(out uint value) || value > ushort.MaxValue)
            {
                throw new CoapProtocolException(CoapError.InvalidUri, $"Uri-Port of {uriPort.Value.Length} bytes is not a port number.");
            }

            port = (int)value;
        }

        AppendPortAndResource(sb, normalizedScheme, port, request.GetStrings(CoapOptionNumber.UriPath), request.GetStrings(CoapOptionNumber.UriQuery));
        return sb.ToString();
    }

    /// <summary>
    /// Renders a response's Location-Path and Location-Query options (RFC 7252 §5.10.7) as a relative
    /// reference: <c>/a/b?x=1</c>, or <c>?x=1</c> when there is only a query; null when there are neither.
    /// Resolve it against the request URI to get the absolute location.
    /// </summary>
    public static string? FormatLocation(CoapMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        bool hasPath = response.Options.Contains(CoapOptionNumber.LocationPath);
        bool hasQuery = response.Options.Contains(CoapOptionNumber.LocationQuery);
        if (!hasPath && !hasQuery)
        {
            return null;
        }

        var sb = new StringBuilder(32);
        foreach (string segment in response.GetStrings(CoapOptionNumber.LocationPath))
        {
            sb.Append('/');
            AppendEncoded(sb, segment, Component.PathSegment);
        }

        AppendQuery(sb, response.GetStrings(CoapOptionNumber.LocationQuery));
        return sb.ToString();
    }

    /// <summary>
    /// The endpoint to send requests to: the literal address, or the first address DNS returns for a
    /// registered name (127.0.0.1 for "localhost" when it is among them, since CoAP servers commonly
    /// bind IPv4 only).
    /// </summary>
    /// <exception cref="SocketException">The name does not resolve.</exception>
    /// <exception cref="CoapProtocolException">With <see cref="CoapError.InvalidUri"/>: the name resolved to no address.</exception>
    public async ValueTask<IPEndPoint> ResolveAsync(CancellationToken cancellationToken = default)
    {
        if (HostAddress is not null)
        {
            return new IPEndPoint(HostAddress, Port);
        }

        IPAddress[] addresses = await Dns.GetHostAddressesAsync(Host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new CoapProtocolException(CoapError.InvalidUri, $"Host '{Host}' resolved to no address.");
        }

        IPAddress chosen = addresses[0];
        if (Host == "localhost" && Array.IndexOf(addresses, IPAddress.Loopback) >= 0)
        {
            chosen = IPAddress.Loopback;
        }

        return new IPEndPoint(chosen, Port);
    }

    /// <summary>The URI in normal form (RFC 7252 §6.3, composed as in §6.5).</summary>
    public override string ToString() => _normalized;

    /// <summary>Equal when the normal forms are equal (RFC 7252 §6.3).</summary>
    public bool Equals(CoapUri? other) => other is not null && _normalized == other._normalized;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as CoapUri);

    /// <inheritdoc/>
    public override int GetHashCode() => _normalized.GetHashCode(StringComparison.Ordinal);

    /// <summary>Normal-form equality.</summary>
    public static bool operator ==(CoapUri? left, CoapUri? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Normal-form inequality.</summary>
    public static bool operator !=(CoapUri? left, CoapUri? right) => !(left == right);

    // ---- parsing (RFC 7252 §6.4 steps 1-4 and the RFC 3986 grammar) -------------------------

    private static string? TryParseCore(string uri, out CoapUri? result)
    {
        result = null;

        // Step 1: an absolute URI starts with scheme ":" (RFC 3986 §3.1).
        int colon = uri.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !char.IsAsciiLetter(uri[0]) || !AllChars(uri.AsSpan(0, colon), IsSchemeChar))
        {
            return "it is not an absolute URI (a scheme such as coap:// is required).";
        }

        // Step 3.
        string scheme = ToAsciiLower(uri[..colon]);
        if (scheme is not ("coap" or "coaps"))
        {
            return $"the scheme '{uri[..colon]}' is neither coap nor coaps.";
        }

        // Step 4.
        if (uri.Contains('#', StringComparison.Ordinal))
        {
            return "a fragment ('#') is not allowed in a CoAP URI (RFC 7252 §6.4 step 4).";
        }

        ReadOnlySpan<char> rest = uri.AsSpan(colon + 1);
        if (!rest.StartsWith("//"))
        {
            return "the authority ('//' and a host) is missing (RFC 7252 §6.1).";
        }

        rest = rest[2..];
        int authorityEnd = rest.IndexOfAny('/', '?');
        ReadOnlySpan<char> authority = authorityEnd < 0 ? rest : rest[..authorityEnd];
        rest = authorityEnd < 0 ? [] : rest[authorityEnd..];

        string? error = ParseAuthority(authority, scheme, out string host, out IPAddress? address, out string? zone, out int port);
        if (error is not null)
        {
            return error;
        }

        int queryStart = rest.IndexOf('?');
        ReadOnlySpan<char> path = queryStart < 0 ? rest : rest[..queryStart];
        string[] query = [];
        error = ParsePath(path, out string[] segments) ?? (queryStart < 0 ? null : ParseQuery(rest[(queryStart + 1)..], out query));
        if (error is not null)
        {
            return error;
        }

        result = new CoapUri(scheme, host, address, zone, port, segments, query);
        return null;
    }

    private static string? ParseAuthority(ReadOnlySpan<char> authority, string scheme, out string host, out IPAddress? address, out string? zone, out int port)
    {
        host = string.Empty;
        address = null;
        zone = null;
        port = scheme == "coaps" ? DefaultSecurePort : DefaultPort;

        if (authority.Contains('@'))
        {
            return "user information ('user@') is not part of a CoAP URI (RFC 7252 §6.1).";
        }

        ReadOnlySpan<char> portText;
        if (authority.StartsWith("["))
        {
            int close = authority.IndexOf(']');
            if (close < 0)
            {
                return "the IPv6 literal has no closing ']'.";
            }

            string? error = ParseIPLiteral(authority[1..close], out host, out address, out zone);
            if (error is not null)
            {
                return error;
            }

            ReadOnlySpan<char> after = authority[(close + 1)..];
            if (!after.IsEmpty && after[0] != ':')
            {
                return "only ':' and a port may follow the IPv6 literal.";
            }

            portText = after.IsEmpty ? [] : after[1..];
            if (after.IsEmpty)
            {
                return null;
            }
        }
        else
        {
            int portColon = authority.IndexOf(':');
            if (portColon >= 0 && authority[(portColon + 1)..].Contains(':'))
            {
                return "an IPv6 address must be enclosed in brackets, as in coap://[::1]/ (RFC 3986 §3.2.2).";
            }

            ReadOnlySpan<char> hostText = portColon < 0 ? authority : authority[..portColon];
            if (hostText.IsEmpty)
            {
                return "the host is empty (RFC 7252 §6.1: the host MUST NOT be empty).";
            }

            string? error = Validate(hostText, Component.Host, "host");
            if (error is not null)
            {
                return error;
            }

            // Step 5: ASCII lowercase, then decode. Lowercasing again after decoding makes "%41"
            // and "a" the same host, as §6.3 normalization requires.
            string? decoded = PercentDecode(hostText);
            if (decoded is null)
            {
                return "the host's percent-encoded bytes are not UTF-8.";
            }

            foreach (char c in decoded)
            {
                if (c < 0x80 && !IsAllowed(c, Component.Host))
                {
                    return $"the host decodes to '{c}', which a registered name cannot contain.";
                }
            }

            host = ToAsciiLower(decoded);
            if (Encoding.UTF8.GetByteCount(host) > MaxOptionValueBytes)
            {
                return $"the host is longer than the {MaxOptionValueBytes} bytes a Uri-Host can carry.";
            }

            if (IsIPv4Address(host))
            {
                address = IPAddress.Parse(host);
            }

            if (portColon < 0)
            {
                return null;
            }

            portText = authority[(portColon + 1)..];
        }

        // Step 6: an empty port means the default (RFC 7252 §6.1).
        if (portText.IsEmpty)
        {
            return null;
        }

        if (!AllChars(portText, char.IsAsciiDigit))
        {
            return $"the port '{portText}' is not a decimal number.";
        }

        portText = portText.TrimStart('0');
        if (portText.Length > 5 || !int.TryParse(portText.IsEmpty ? "0" : portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > ushort.MaxValue)
        {
            port = 0;
            return "the port is greater than 65535.";
        }

        return port == 0 ? "port 0 cannot be a UDP destination." : null;
    }

    private static string? ParseIPLiteral(ReadOnlySpan<char> literal, out string host, out IPAddress? address, out string? zone)
    {
        host = string.Empty;
        address = null;
        zone = null;
        if (!literal.IsEmpty && (literal[0] | 0x20) == 'v')
        {
            return "IPvFuture literals are not supported.";
        }

        // RFC 6874: a zone identifier is introduced by "%25" and percent-encoded itself.
        ReadOnlySpan<char> addressText = literal;
        int percent = literal.IndexOf('%');
        if (percent >= 0)
        {
            if (!literal[percent..].StartsWith("%25") || literal.Length == percent + 3)
            {
                return "an IPv6 zone identifier must be written as '%25' followed by the zone (RFC 6874).";
            }

            ReadOnlySpan<char> zoneText = literal[(percent + 3)..];
            string? error = Validate(zoneText, Component.Host, "zone identifier");
            zone = error is null ? PercentDecode(zoneText) : null;
            if (zone is null)
            {
                return error ?? "the zone identifier is not UTF-8.";
            }

            addressText = literal[..percent];
        }

        if (addressText.IsEmpty || !AllChars(addressText, static c => char.IsAsciiHexDigit(c) || c is ':' or '.')
            || !IPAddress.TryParse(addressText, out IPAddress? parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return $"'{addressText}' is not an IPv6 address.";
        }

        host = parsed.ToString();
        address = parsed;
        if (zone is not null)
        {
            host += "%" + zone;
            if (uint.TryParse(zone, NumberStyles.None, CultureInfo.InvariantCulture, out uint scopeId))
            {
                address = new IPAddress(parsed.GetAddressBytes(), scopeId);
            }
            else if (IPAddress.TryParse(host, out IPAddress? scoped))
            {
                // The runtime maps an interface name to its index where the platform can.
                address = scoped;
            }
        }

        return null;
    }

    private static string? ParsePath(ReadOnlySpan<char> path, out string[] segments)
    {
        segments = [];
        string? error = ValidatePath(path);
        if (error is not null)
        {
            return error;
        }

        // Step 2 (reference resolution) removes "." and ".." segments; step 8: "" and "/" give no Uri-Path.
        string resolved = RemoveDotSegments(path.ToString());
        if (resolved.Length <= 1)
        {
            return null;
        }

        string[] raw = resolved[1..].Split('/');
        segments = new string[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            string? decoded = PercentDecode(raw[i]);
            if (decoded is null)
            {
                return $"path segment '{raw[i]}' does not decode to UTF-8.";
            }

            if (Encoding.UTF8.GetByteCount(decoded) > MaxOptionValueBytes)
            {
                return $"a path segment is longer than the {MaxOptionValueBytes} bytes a Uri-Path can carry.";
            }

            segments[i] = decoded;
        }

        return null;
    }

    // A path is segments joined by '/'; Validate() checks one segment's characters.
    private static string? ValidatePath(ReadOnlySpan<char> path)
    {
        foreach (Range r in path.Split('/'))
        {
            string? error = Validate(path[r], Component.PathSegment, "path");
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private static string? ParseQuery(ReadOnlySpan<char> query, out string[] parts)
    {
        parts = [];
        string? error = Validate(query, Component.Query, "query");
        if (error is not null)
        {
            return error;
        }

        var list = new List<string>();
        foreach (Range r in query.Split('&'))
        {
            string? decoded = PercentDecode(query[r]);
            if (decoded is null)
            {
                return $"query argument '{query[r]}' does not decode to UTF-8.";
            }

            if (Encoding.UTF8.GetByteCount(decoded) > MaxOptionValueBytes)
            {
                return $"a query argument is longer than the {MaxOptionValueBytes} bytes a Uri-Query can carry.";
            }

            list.Add(decoded);
        }

        parts = [.. list];
        return null;
    }

    // ---- composing (RFC 7252 §6.5) -----------------------------------------------------------

    private static void AppendHost(StringBuilder sb, string host, IPAddress? address, string? zone)
    {
        if (address is { AddressFamily: AddressFamily.InterNetworkV6 })
        {
            sb.Append('[').Append(zone is null ? host : host[..^(zone.Length + 1)]);
            if (zone is not null)
            {
                sb.Append("%25");
                AppendEncoded(sb, zone, Component.Host);
            }

            sb.Append(']');
        }
        else
        {
            AppendEncoded(sb, host, Component.Host);
        }
    }

    private static bool TryAppendComposedHost(StringBuilder sb, string host, [NotNullWhen(false)] out string? error)
    {
        error = null;
        ReadOnlySpan<char> text = host;
        bool bracketed = text.Length >= 2 && text[0] == '[' && text[^1] == ']';
        if (bracketed)
        {
            text = text[1..^1];
        }

        // An IPv6 address, bracketed or bare, becomes an IP-literal in RFC 5952 form.
        if (text.Contains(':'))
        {
            // A destination address from the socket writes its zone after a bare '%'.
            string literal = text.Contains('%') && !text.Contains("%25", StringComparison.Ordinal)
                ? text.ToString().Replace("%", "%25", StringComparison.Ordinal)
                : text.ToString();
            error = ParseIPLiteral(literal, out string literalHost, out IPAddress? address, out string? zone);
            if (error is not null)
            {
                error = "is not a valid IP-literal: " + error;
                return false;
            }

            AppendHost(sb, literalHost, address, zone);
            return true;
        }

        if (bracketed || text.IsEmpty)
        {
            error = "is not a valid host.";
            return false;
        }

        // A reg-name: non-ASCII characters are percent-encoded (step 2); any other character
        // outside unreserved / sub-delims makes it invalid. Hosts are case-insensitive (§6.3).
        foreach (char c in text)
        {
            if (c < 0x80 && !IsAllowed(c, Component.Host))
            {
                error = $"contains '{c}', which a registered name cannot contain.";
                return false;
            }
        }

        AppendEncoded(sb, ToAsciiLower(text.ToString()), Component.Host);
        return true;
    }

    private static void AppendPortAndResource(StringBuilder sb, string scheme, int port, IEnumerable<string> pathSegments, IEnumerable<string> queryParts)
    {
        // Step 5: the default port is elided.
        if (port != (scheme == "coaps" ? DefaultSecurePort : DefaultPort))
        {
            sb.Append(':').Append(port.ToString(CultureInfo.InvariantCulture));
        }

        // Steps 6-7.
        int start = sb.Length;
        foreach (string segment in pathSegments)
        {
            sb.Append('/');
            AppendEncoded(sb, segment, Component.PathSegment);
        }

        if (sb.Length == start)
        {
            sb.Append('/');
        }

        AppendQuery(sb, queryParts);
    }

    private static void AppendQuery(StringBuilder sb, IEnumerable<string> queryParts)
    {
        // Step 8.
        bool first = true;
        foreach (string part in queryParts)
        {
            sb.Append(first ? '?' : '&');
            AppendEncoded(sb, part, Component.QueryPart);
            first = false;
        }
    }
}
