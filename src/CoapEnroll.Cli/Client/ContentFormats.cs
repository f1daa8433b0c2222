using System.Globalization;
using CoapEnroll.Coap;

namespace CoapEnroll.Cli.Client;

/// <summary>Parsing content formats given on the command line, and telling which ones are text.</summary>
internal static class ContentFormats
{
    private static readonly Dictionary<string, int> s_aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["text"] = CoapContentFormat.TextPlain,
        ["text/plain"] = CoapContentFormat.TextPlain,
        ["link"] = CoapContentFormat.LinkFormat,
        ["link-format"] = CoapContentFormat.LinkFormat,
        ["xml"] = CoapContentFormat.Xml,
        ["octet"] = CoapContentFormat.OctetStream,
        ["octet-stream"] = CoapContentFormat.OctetStream,
        ["binary"] = CoapContentFormat.OctetStream,
        ["exi"] = CoapContentFormat.Exi,
        ["json"] = CoapContentFormat.Json,
        ["cbor"] = CoapContentFormat.Cbor,
        ["multipart-core"] = CoapContentFormat.MultipartCore,
        ["pkcs7-server-generated-key"] = CoapContentFormat.Pkcs7ServerGeneratedKey,
        ["pkcs7-certs-only"] = CoapContentFormat.Pkcs7CertsOnly,
        ["pkcs8"] = CoapContentFormat.Pkcs8,
        ["csrattrs"] = CoapContentFormat.CsrAttrs,
        ["pkcs10"] = CoapContentFormat.Pkcs10,
        ["pkix-cert"] = CoapContentFormat.PkixCert,
        ["pkixcmp"] = CoapContentFormat.PkixCmp,
    };

    private static readonly int[] s_known =
    [
        CoapContentFormat.TextPlain, CoapContentFormat.LinkFormat, CoapContentFormat.Xml, CoapContentFormat.OctetStream,
        CoapContentFormat.Exi, CoapContentFormat.Json, CoapContentFormat.Cbor, CoapContentFormat.MultipartCore,
        CoapContentFormat.PkixCmp, CoapContentFormat.Pkcs7ServerGeneratedKey, CoapContentFormat.Pkcs7CertsOnly,
        CoapContentFormat.Pkcs8, CoapContentFormat.CsrAttrs, CoapContentFormat.Pkcs10, CoapContentFormat.PkixCert,
    ];

    /// <summary>The names accepted besides numbers, for help and error texts.</summary>
    public static string AcceptedNames => string.Join(", ", s_aliases.Keys.Where(k => !k.Contains('/', StringComparison.Ordinal)));

    /// <summary>
    /// A number (0..65535), a short name (<c>text</c>, <c>cbor</c>, <c>pkcs10</c>…) or a full media
    /// type as <see cref="CoapContentFormat.GetName"/> prints it (<c>application/cbor</c>).
    /// </summary>
    public static bool TryParse(string text, out int contentFormat)
    {
        string trimmed = text.Trim();
        if (int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out contentFormat))
        {
            return contentFormat <= ushort.MaxValue;
        }

        if (s_aliases.TryGetValue(trimmed, out contentFormat))
        {
            return true;
        }

        string normalized = trimmed.Replace(" ", string.Empty, StringComparison.Ordinal);
        foreach (int known in s_known)
        {
            if (string.Equals(CoapContentFormat.GetName(known), normalized, StringComparison.OrdinalIgnoreCase))
            {
                contentFormat = known;
                return true;
            }
        }

        contentFormat = -1;
        return false;
    }

    /// <summary>"name (n)" for known formats, otherwise the number.</summary>
    public static string Describe(int contentFormat)
    {
        string name = CoapContentFormat.GetName(contentFormat);
        return name == contentFormat.ToString(CultureInfo.InvariantCulture) ? name : $"{name} ({contentFormat})";
    }

    /// <summary>Formats whose payload is text by definition.</summary>
    public static bool IsText(int contentFormat) => contentFormat is CoapContentFormat.TextPlain or CoapContentFormat.LinkFormat
        or CoapContentFormat.Xml or CoapContentFormat.Json;

    /// <summary>Formats whose payload is binary by definition: never shown as text even if it happens to decode.</summary>
    public static bool IsBinary(int contentFormat) => contentFormat is CoapContentFormat.OctetStream or CoapContentFormat.Exi
        or CoapContentFormat.Cbor or CoapContentFormat.MultipartCore or CoapContentFormat.PkixCmp
        or CoapContentFormat.Pkcs7ServerGeneratedKey or CoapContentFormat.Pkcs7CertsOnly or CoapContentFormat.Pkcs8
        or CoapContentFormat.CsrAttrs or CoapContentFormat.Pkcs10 or CoapContentFormat.PkixCert;
}
