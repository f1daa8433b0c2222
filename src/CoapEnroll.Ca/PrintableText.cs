using System.Globalization;
using System.Text;

namespace CoapEnroll.Ca;

/// <summary>
/// Text from a peer (a requested name, a PSK identity) made safe to put in a log line, a stored reason or a diagnostic payload: what
/// cannot be seen (control and format characters, unpaired surrogates, bytes outside printable ASCII) is written as an escape, a
/// backslash as two, and the whole bounded in length.
/// </summary>
public static class PrintableText
{
    /// <summary>How many characters of the original are kept by default.</summary>
    public const int DefaultMaxLength = 128;

    /// <summary>
    /// <paramref name="text"/> with invisible characters as <c>\u{XXXX}</c> and <c>\</c> as <c>\\</c>, cut after
    /// <paramref name="maxLength"/> characters with "...".
    /// </summary>
    public static string Escape(string text, int maxLength = DefaultMaxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        var escaped = new StringBuilder(Math.Min(text.Length, maxLength) + 8);
        int i = 0;
        for (; i < text.Length && i < maxLength; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                escaped.Append(c).Append(text[i + 1]);
                i++;
                continue;
            }

            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (c == '\\')
            {
                escaped.Append(@"\\");
            }
            else if (c == ' ' || !(char.IsWhiteSpace(c) || category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
                or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator))
            {
                escaped.Append(c);
            }
            else
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:X4}}}");
            }
        }

        return i < text.Length ? escaped.Append("...").ToString() : escaped.ToString();
    }

    /// <summary>
    /// <paramref name="bytes"/> read as ASCII: printable characters as they are, <c>\</c> as <c>\\</c>, every other byte as
    /// <c>\xHH</c>; cut after <paramref name="maxLength"/> bytes with "...".
    /// </summary>
    public static string Escape(ReadOnlySpan<byte> bytes, int maxLength = DefaultMaxLength)
    {
        var escaped = new StringBuilder(Math.Min(bytes.Length, maxLength) + 8);
        int count = Math.Min(bytes.Length, maxLength);
        foreach (byte b in bytes[..count])
        {
            if (b == (byte)'\\')
            {
                escaped.Append(@"\\");
            }
            else if (b is >= 0x20 and < 0x7F)
            {
                escaped.Append((char)b);
            }
            else
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\x{b:X2}");
            }
        }

        return count < bytes.Length ? escaped.Append("...").ToString() : escaped.ToString();
    }
}
