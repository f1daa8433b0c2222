using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CoapEnroll.Ca;

/// <summary>
/// Parses a distinguished name in the string form of RFC 4514 (<c>CN=dev-1,O=Acme</c>: the most specific RDN first,
/// backslash escapes, <c>\2C</c> hex pairs). .NET's <see cref="X500DistinguishedName"/> string parser has its own dialect
/// (quotes instead of backslashes, ';' as a separator, silently accepted oddities), so the name is built with
/// <see cref="X500DistinguishedNameBuilder"/> from our own parse instead. The command line's <c>--subject</c> and the profiles'
/// name templates and allow-lists (<see cref="SubjectTemplate"/>) are read by this one parser.
/// </summary>
public static class DistinguishedNameParser
{
    private static readonly Dictionary<string, string> s_types = new(StringComparer.OrdinalIgnoreCase)
    {
        ["CN"] = "2.5.4.3",
        ["SN"] = "2.5.4.4",
        ["SERIALNUMBER"] = "2.5.4.5",
        ["C"] = "2.5.4.6",
        ["L"] = "2.5.4.7",
        ["ST"] = "2.5.4.8",
        ["STREET"] = "2.5.4.9",
        ["O"] = "2.5.4.10",
        ["OU"] = "2.5.4.11",
        ["TITLE"] = "2.5.4.12",
        ["GN"] = "2.5.4.42",
        ["DC"] = "0.9.2342.19200300.100.1.25",
        ["UID"] = "0.9.2342.19200300.100.1.1",
        ["E"] = "1.2.840.113549.1.9.1",
        ["EMAILADDRESS"] = "1.2.840.113549.1.9.1",
    };

    /// <summary>The name, or null with <paramref name="error"/> saying what is wrong.</summary>
    public static X500DistinguishedName? TryParse(string text, out string? error)
    {
        IReadOnlyList<NameAttribute>? rdns = TryParseAttributes(text, out error);
        if (rdns is null)
        {
            return null;
        }

        var builder = new X500DistinguishedNameBuilder();
        try
        {
            // RFC 4514 §2.1: the string starts with the last RDN of the sequence; the builder encodes its first Add last.
            for (int k = 0; k < rdns.Count; k++)
            {
                (string oid, string value) = rdns[k];
                switch (oid)
                {
                    case "2.5.4.6":
                        builder.AddCountryOrRegion(value);
                        break;
                    case "0.9.2342.19200300.100.1.25":
                        builder.AddDomainComponent(value);
                        break;
                    case "1.2.840.113549.1.9.1":
                        builder.AddEmailAddress(value);
                        break;
                    case "2.5.4.5":
                        builder.Add(oid, value, UniversalTagNumber.PrintableString);
                        break;
                    default:
                        builder.Add(oid, value, UniversalTagNumber.UTF8String);
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            error = ex.Message.Split('\n')[0].Trim().TrimEnd('.');
            return null;
        }

        return builder.Build();
    }

    /// <summary>
    /// The attributes of the name, in the order written (the most specific RDN first), or null with <paramref name="error"/> saying
    /// what is wrong. The values are not checked against their attribute type's string syntax.
    /// </summary>
    public static IReadOnlyList<NameAttribute>? TryParseAttributes(string text, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "the name is empty";
            return null;
        }

        var rdns = new List<NameAttribute>();
        int i = 0;
        while (i < text.Length)
        {
            // attributeType "=" attributeValue
            int equals = text.IndexOf('=', i);
            if (equals < 0)
            {
                error = $"'{text[i..].Trim()}' has no '=' (write TYPE=value, e.g. CN=dev-1)";
                return null;
            }

            string type = text[i..equals].Trim();
            if (!TryGetAttributeOid(type, out string? oid))
            {
                error = $"unknown attribute type '{type}' (use CN, O, OU, C, ST, L, STREET, SERIALNUMBER, DC, UID, E, … or a dotted OID)";
                return null;
            }

            var value = new StringBuilder();
            var raw = new List<byte>();
            int j = equals + 1;
            while (j < text.Length && text[j] == ' ')
            {
                j++;
            }

            if (j < text.Length && text[j] == '#')
            {
                error = $"hex-encoded values ('{type}=#…') are not supported";
                return null;
            }

            bool ended = false;
            for (; j < text.Length; j++)
            {
                char c = text[j];
                if (c == ',')
                {
                    ended = true;
                    break;
                }

                if (c == '+')
                {
                    error = "multi-valued RDNs ('+') are not supported; escape a literal plus as \\+";
                    return null;
                }

                if (c is '"' or ';' or '<' or '>')
                {
                    error = $"'{c}' must be escaped as \\{c} (RFC 4514)";
                    return null;
                }

                if (c != '\\')
                {
                    if (!FlushRaw(raw, value))
                    {
                        error = $"the hex escapes in the value of {type} are not UTF-8";
                        return null;
                    }

                    value.Append(c);
                    continue;
                }

                if (j + 1 >= text.Length)
                {
                    error = "the name ends with a lone backslash";
                    return null;
                }

                char next = text[j + 1];
                if (char.IsAsciiHexDigit(next) && j + 2 < text.Length && char.IsAsciiHexDigit(text[j + 2]))
                {
                    raw.Add(byte.Parse(text.AsSpan(j + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    j += 2;
                    continue;
                }

                if (next is not (',' or '+' or '"' or '\\' or '<' or '>' or ';' or '=' or ' ' or '#'))
                {
                    error = $"'\\{next}' is not an RFC 4514 escape";
                    return null;
                }

                if (!FlushRaw(raw, value))
                {
                    error = $"the hex escapes in the value of {type} are not UTF-8";
                    return null;
                }

                value.Append(next);
                j++;
            }

            if (!FlushRaw(raw, value))
            {
                error = $"the hex escapes in the value of {type} are not UTF-8";
                return null;
            }

            string v = value.ToString().Trim();
            if (v.Length == 0)
            {
                error = $"{type} has an empty value";
                return null;
            }

            rdns.Add(new NameAttribute(oid, v));
            i = ended ? j + 1 : j;
            if (ended && text[i..].Trim().Length == 0)
            {
                error = "the name ends with ','";
                return null;
            }
        }

        return rdns;
    }

    /// <summary>The OID of an attribute type written as a short name (CN, SERIALNUMBER, O, …, case-insensitive) or a dotted OID.</summary>
    public static bool TryGetAttributeOid(string type, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? oid)
    {
        ArgumentNullException.ThrowIfNull(type);
        oid = s_types.TryGetValue(type, out string? known) ? known : IsDottedOid(type) ? type : null;
        return oid is not null;
    }

    private static bool FlushRaw(List<byte> raw, StringBuilder value)
    {
        if (raw.Count == 0)
        {
            return true;
        }

        try
        {
            value.Append(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(raw.ToArray()));
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
        finally
        {
            raw.Clear();
        }
    }

    private static bool IsDottedOid(string type)
    {
        string[] arcs = type.Split('.');
        return arcs.Length >= 2 && arcs.All(a => a.Length > 0 && a.All(char.IsAsciiDigit));
    }
}
