using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace CoapEnroll.Coap;

/// <summary>
/// RFC 3986 character classes and the percent-encoding rules of RFC 7252 §6.4/§6.5, shared by
/// <see cref="CoapUri"/>'s parser and composer.
/// </summary>
internal static class CoapUriSyntax
{
    // RFC 3986 §2.3 unreserved and §2.2 sub-delims.
    private static readonly SearchValues<char> s_unreservedOrSubDelims =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=");

    private static readonly SearchValues<char> s_schemeChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-.");

    /// <summary>Which characters a component may carry unencoded.</summary>
    internal enum Component
    {
        /// <summary>reg-name: unreserved / sub-delims (RFC 3986 §3.2.2).</summary>
        Host,
        /// <summary>segment: pchar = unreserved / sub-delims / ":" / "@" (RFC 3986 §3.3).</summary>
        PathSegment,
        /// <summary>Composing a Uri-Query (RFC 7252 §6.5 step 8): as a query, but "&amp;" is encoded.</summary>
        QueryPart,
        /// <summary>Parsing a query: pchar / "/" / "?" (RFC 3986 §3.4); "&amp;" separates parts.</summary>
        Query,
    }

    internal static bool IsSchemeChar(char c) => s_schemeChars.Contains(c);

    internal static bool AllChars(ReadOnlySpan<char> text, Func<char, bool> predicate)
    {
        foreach (char c in text)
        {
            if (!predicate(c))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsAllowed(char c, Component component) => component switch
    {
        Component.Host => s_unreservedOrSubDelims.Contains(c),
        Component.PathSegment => s_unreservedOrSubDelims.Contains(c) || c is ':' or '@',
        Component.QueryPart => (s_unreservedOrSubDelims.Contains(c) && c != '&') || c is ':' or '@' or '/' or '?',
        _ => s_unreservedOrSubDelims.Contains(c) || c is ':' or '@' or '/' or '?',
    };

    /// <summary>Returns an error, or null when every character of <paramref name="text"/> is allowed or a valid "%XX".</summary>
    internal static string? Validate(ReadOnlySpan<char> text, Component component, string what)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '%')
            {
                if (i + 2 >= text.Length || !char.IsAsciiHexDigit(text[i + 1]) || !char.IsAsciiHexDigit(text[i + 2]))
                {
                    return $"The {what} has a '%' that is not followed by two hexadecimal digits.";
                }

                i += 2;
            }
            else if (!IsAllowed(c, component))
            {
                return c is >= ' ' and < (char)0x7F
                    ? $"The {what} contains '{c}', which must be percent-encoded."
                    : $"The {what} contains the character U+{(int)c:X4}, which must be percent-encoded.";
            }
        }

        return null;
    }

    /// <summary>
    /// Converts each "%XX" to its byte and reads the result as UTF-8 (RFC 7252 §6.4 steps 5, 8, 9:
    /// option values are strings, §3.2). Null when the bytes are not valid UTF-8.
    /// The text must already have passed <see cref="Validate"/>.
    /// </summary>
    internal static string? PercentDecode(ReadOnlySpan<char> text)
    {
        if (!text.Contains('%'))
        {
            return text.ToString();
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(text.Length);
        try
        {
            int n = 0;
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == '%')
                {
                    rented[n++] = (byte)((HexValue(text[i + 1]) << 4) | HexValue(text[i + 2]));
                    i += 2;
                }
                else
                {
                    rented[n++] = (byte)text[i]; // validated as ASCII
                }
            }

            ReadOnlySpan<byte> bytes = rented.AsSpan(0, n);
            return Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Appends <paramref name="value"/>, percent-encoding (uppercase hex, RFC 7252 §6.5) every UTF-8
    /// byte of a character the component does not allow.
    /// </summary>
    internal static void AppendEncoded(StringBuilder sb, string value, Component component)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c < 0x80 && IsAllowed(c, component))
            {
                sb.Append(c);
                continue;
            }

            int charCount = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]) ? 2 : 1;
            int byteCount = Encoding.UTF8.GetBytes(value.AsSpan(i, charCount), utf8);
            for (int b = 0; b < byteCount; b++)
            {
                sb.Append('%').Append(((int)utf8[b]).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }

            i += charCount - 1;
        }
    }

    /// <summary>Lowercases ASCII letters only (RFC 7252 §6.4 step 5, "converted to ASCII lowercase").</summary>
    internal static string ToAsciiLower(string value)
    {
        foreach (char c in value)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                return string.Create(value.Length, value, static (span, v) =>
                {
                    for (int i = 0; i < v.Length; i++)
                    {
                        span[i] = char.IsAsciiLetterUpper(v[i]) ? (char)(v[i] | 0x20) : v[i];
                    }
                });
            }
        }

        return value;
    }

    /// <summary>
    /// RFC 3986 §3.2.2 IPv4address: four dec-octets without leading zeros. Anything else that looks
    /// numeric ("1.2.3", "01.2.3.4", "256.0.0.1") is a reg-name by that grammar.
    /// </summary>
    internal static bool IsIPv4Address(ReadOnlySpan<char> text)
    {
        int parts = 0;
        while (true)
        {
            int dot = text.IndexOf('.');
            ReadOnlySpan<char> part = dot < 0 ? text : text[..dot];
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0'))
            {
                return false;
            }

            int value = 0;
            foreach (char c in part)
            {
                if (!char.IsAsciiDigit(c))
                {
                    return false;
                }

                value = (value * 10) + (c - '0');
            }

            if (value > 255)
            {
                return false;
            }

            parts++;
            if (dot < 0)
            {
                return parts == 4;
            }

            text = text[(dot + 1)..];
        }
    }

    /// <summary>RFC 3986 §5.2.4 remove_dot_segments, applied to the still-encoded path (§6.4 step 2).</summary>
    internal static string RemoveDotSegments(string path)
    {
        if (!path.Contains('.', StringComparison.Ordinal))
        {
            return path;
        }

        var output = new StringBuilder(path.Length);
        ReadOnlySpan<char> input = path;
        while (!input.IsEmpty)
        {
            if (input.StartsWith("../"))
            {
                input = input[3..];
            }
            else if (input.StartsWith("./"))
            {
                input = input[2..];
            }
            else if (input.StartsWith("/./"))
            {
                input = input[2..];
            }
            else if (input.SequenceEqual("/."))
            {
                input = "/";
            }
            else if (input.StartsWith("/../") || input.SequenceEqual("/.."))
            {
                input = input.Length == 3 ? "/" : input[3..];
                int last = output.ToString().LastIndexOf('/');
                output.Length = Math.Max(last, 0);
            }
            else if (input.SequenceEqual(".") || input.SequenceEqual(".."))
            {
                input = [];
            }
            else
            {
                int next = input[0] == '/' ? input[1..].IndexOf('/') : input.IndexOf('/');
                int take = next < 0 ? input.Length : input[0] == '/' ? next + 1 : next;
                output.Append(input[..take]);
                input = input[take..];
            }
        }

        return output.ToString();
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
