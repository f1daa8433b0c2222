using System.Collections.Frozen;

namespace CoapEnroll.Coap;

/// <summary>The options this implementation recognises, with the properties from their defining RFCs.</summary>
public static class CoapOptionRegistry
{
    private static readonly FrozenDictionary<int, CoapOptionDefinition> s_definitions = new CoapOptionDefinition[]
    {
        // RFC 7252 §5.10, Table 4.
        new(CoapOptionNumber.IfMatch, "If-Match", CoapOptionFormat.Opaque, 0, 8, true),
        new(CoapOptionNumber.UriHost, "Uri-Host", CoapOptionFormat.String, 1, 255, false),
        new(CoapOptionNumber.ETag, "ETag", CoapOptionFormat.Opaque, 1, 8, true),
        new(CoapOptionNumber.IfNoneMatch, "If-None-Match", CoapOptionFormat.Empty, 0, 0, false),
        new(CoapOptionNumber.UriPort, "Uri-Port", CoapOptionFormat.UInt, 0, 2, false),
        new(CoapOptionNumber.LocationPath, "Location-Path", CoapOptionFormat.String, 0, 255, true),
        new(CoapOptionNumber.UriPath, "Uri-Path", CoapOptionFormat.String, 0, 255, true),
        new(CoapOptionNumber.ContentFormat, "Content-Format", CoapOptionFormat.UInt, 0, 2, false),
        new(CoapOptionNumber.MaxAge, "Max-Age", CoapOptionFormat.UInt, 0, 4, false),
        new(CoapOptionNumber.UriQuery, "Uri-Query", CoapOptionFormat.String, 0, 255, true),
        new(CoapOptionNumber.Accept, "Accept", CoapOptionFormat.UInt, 0, 2, false),
        new(CoapOptionNumber.LocationQuery, "Location-Query", CoapOptionFormat.String, 0, 255, true),
        new(CoapOptionNumber.ProxyUri, "Proxy-Uri", CoapOptionFormat.String, 1, 1034, false),
        new(CoapOptionNumber.ProxyScheme, "Proxy-Scheme", CoapOptionFormat.String, 1, 255, false),
        new(CoapOptionNumber.Size1, "Size1", CoapOptionFormat.UInt, 0, 4, false),

        // RFC 7641 §2.
        new(CoapOptionNumber.Observe, "Observe", CoapOptionFormat.UInt, 0, 3, false),

        // RFC 7959 §2.1, §4.
        new(CoapOptionNumber.Block2, "Block2", CoapOptionFormat.UInt, 0, 3, false),
        new(CoapOptionNumber.Block1, "Block1", CoapOptionFormat.UInt, 0, 3, false),
        new(CoapOptionNumber.Size2, "Size2", CoapOptionFormat.UInt, 0, 4, false),

        // RFC 9175 §2.2, §3.2.
        new(CoapOptionNumber.Echo, "Echo", CoapOptionFormat.Opaque, 1, 40, false),
        new(CoapOptionNumber.RequestTag, "Request-Tag", CoapOptionFormat.Opaque, 0, 8, true),

        // Recognised so that their names print; this library does not process them.
        new(CoapOptionNumber.Oscore, "OSCORE", CoapOptionFormat.Opaque, 0, 255, false),
        new(CoapOptionNumber.HopLimit, "Hop-Limit", CoapOptionFormat.UInt, 1, 1, false),
        new(CoapOptionNumber.NoResponse, "No-Response", CoapOptionFormat.UInt, 0, 1, false),
    }.ToFrozenDictionary(d => d.Number);

    /// <summary>Every registered option, by number.</summary>
    public static IEnumerable<CoapOptionDefinition> All => s_definitions.Values.OrderBy(d => d.Number);

    public static bool TryGet(int number, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CoapOptionDefinition? definition)
        => s_definitions.TryGetValue(number, out definition);

    public static bool IsKnown(int number) => s_definitions.ContainsKey(number);

    /// <summary>The option's registered name, or its number.</summary>
    public static string GetName(int number) => s_definitions.TryGetValue(number, out var d) ? d.Name : $"Option{number}";
}
