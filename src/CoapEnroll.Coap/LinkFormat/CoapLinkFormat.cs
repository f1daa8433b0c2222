using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace CoapEnroll.Coap;

/// <summary>
/// CoRE Link Format (RFC 6690, media type application/link-format, Content-Format 40): serializing
/// and parsing <see cref="CoapResourceDescription"/>s, and the query filtering of §4.1.
/// </summary>
public static class CoapLinkFormat
{
    /// <summary>Serializes links as <c>&lt;/path&gt;;rt="a b";if="c";ct=40;sz=12;obs;title="t"</c>, separated by commas.</summary>
    public static string Serialize(IEnumerable<CoapResourceDescription> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var sb = new StringBuilder(128);
        foreach (CoapResourceDescription r in resources)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append('<').Append(r.Path).Append('>');

            // rt and if are relation-types: always quoted, space-separated (RFC 6690 §2, §3.1, §3.2).
            AppendList(sb, "rt", r.ResourceTypes);
            AppendList(sb, "if", r.Interfaces);

            // ct is a bare cardinal, or a quoted space-separated list (RFC 7252 §7.2.1, Figure 12).
            if (r.ContentFormats.Count == 1)
            {
                sb.Append(";ct=").Append(r.ContentFormats[0].ToString(CultureInfo.InvariantCulture));
            }
            else if (r.ContentFormats.Count > 1)
            {
                sb.Append(";ct=\"").AppendJoin(' ', r.ContentFormats.Select(c => c.ToString(CultureInfo.InvariantCulture))).Append('"');
            }

            if (r.MaximumSize is long sz)
            {
                sb.Append(";sz=").Append(sz.ToString(CultureInfo.InvariantCulture));
            }

            if (r.Observable)
            {
                sb.Append(";obs");
            }

            if (r.Title is not null)
            {
                sb.Append(";title=");
                AppendQuoted(sb, r.Title);
            }

            foreach (CoapLinkAttribute a in r.Attributes)
            {
                sb.Append(';').Append(a.Name);
                if (a.Value is null)
                {
                    continue;
                }

                sb.Append('=');

                // ext-value (name*) must be bare; anchor must be quoted (RFC 6690 §2); otherwise a
                // simple token stays bare and anything else is a quoted-string, which link-extension allows.
                bool bare = a.Name.EndsWith('*')
                    || (!a.Name.Equals("anchor", StringComparison.OrdinalIgnoreCase) && a.Value.Length > 0 && a.Value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'));
                if (bare)
                {
                    sb.Append(a.Value);
                }
                else
                {
                    AppendQuoted(sb, a.Value);
                }
            }
        }

        return sb.ToString();
    }

    /// <summary>Parses a link-format document; an empty (or all-whitespace) document has no links.</summary>
    /// <exception cref="CoapProtocolException">With <see cref="CoapError.InvalidLinkFormat"/>, naming the offending position.</exception>
    public static IReadOnlyList<CoapResourceDescription> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var links, out string? error)
            ? links
            : throw new CoapProtocolException(CoapError.InvalidLinkFormat, error);
    }

    /// <summary>Parses a link-format document; on failure <paramref name="error"/> says what and where.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out IReadOnlyList<CoapResourceDescription>? links, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        links = null;
        try
        {
            links = new Parser(text).ParseDocument();
            error = null;
            return true;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>
    /// The resources that match every filter in <paramref name="uriQuery"/> (RFC 6690 §4.1): the
    /// Uri-Query option values of a request to /.well-known/core, already percent-decoded by the
    /// URI-to-option step (RFC 7252 §6.4), so they are not decoded again. No filters return all.
    /// </summary>
    public static IReadOnlyList<CoapResourceDescription> Filter(IEnumerable<CoapResourceDescription> resources, IEnumerable<string> uriQuery)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ArgumentNullException.ThrowIfNull(uriQuery);
        string[] filters = uriQuery.ToArray();
        return resources.Where(r => filters.All(f => Matches(r, f))).ToArray();
    }

    /// <summary>
    /// Whether <paramref name="resource"/> matches one filter <c>name=value</c> (RFC 6690 §4.1).
    /// <c>href</c> is the target; other names are attributes, compared case-insensitively by name.
    /// The value must be bitwise equal to the attribute, or, with a trailing "*", a prefix of it; each
    /// value of a multi-valued attribute (rt, if, rel, rev, ct) is matched separately. A filter
    /// without "=" tests that the attribute exists (§4.1 defines only name=value; this is our extension).
    /// </summary>
    public static bool Matches(CoapResourceDescription resource, string filter)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(filter);
        int eq = filter.IndexOf('=', StringComparison.Ordinal);
        string name = eq < 0 ? filter : filter[..eq];
        string pattern = eq < 0 ? "*" : filter[(eq + 1)..];
        bool prefix = pattern.EndsWith('*');
        if (prefix)
        {
            pattern = pattern[..^1];
        }

        foreach (string value in ValuesOf(resource, name))
        {
            if (prefix ? value.StartsWith(pattern, StringComparison.Ordinal) : value.Equals(pattern, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    internal static bool IsModelledName(string name) => name.ToLowerInvariant() is "rt" or "if" or "ct" or "sz" or "obs" or "title";

    /// <summary>RFC 5987 parmname (attr-char), with the trailing "*" of an ext-name-star allowed.</summary>
    internal static bool IsParameterName(string name)
    {
        if (string.IsNullOrEmpty(name) || name == "*")
        {
            return false;
        }

        for (int i = 0; i < name.Length; i++)
        {
            if (!IsAttrChar(name[i]) && !(name[i] == '*' && i == name.Length - 1))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAttrChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '&' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';

    private static bool IsPTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'()*+-./:<=>?@[]^_`{|}~".Contains(c, StringComparison.Ordinal);

    private static IEnumerable<string> ValuesOf(CoapResourceDescription r, string name)
    {
        switch (name.ToLowerInvariant())
        {
            case "href":
                return [r.Path];
            case "rt":
                return r.ResourceTypes;
            case "if":
                return r.Interfaces;
            case "ct":
                return r.ContentFormats.Select(c => c.ToString(CultureInfo.InvariantCulture));
            case "sz":
                return r.MaximumSize is long sz ? [sz.ToString(CultureInfo.InvariantCulture)] : [];
            case "obs":
                return r.Observable ? [string.Empty] : [];
            case "title":
                return r.Title is null ? [] : [r.Title];
        }

        bool relationTypes = name.Equals("rel", StringComparison.OrdinalIgnoreCase) || name.Equals("rev", StringComparison.OrdinalIgnoreCase);
        return r.Attributes
            .Where(a => a.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            .SelectMany(a => a.Value is null ? [string.Empty] : relationTypes ? a.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries) : [a.Value]);
    }

    private static void AppendList(StringBuilder sb, string name, IReadOnlyList<string> values)
    {
        if (values.Count > 0)
        {
            sb.Append(';').Append(name).Append("=\"").AppendJoin(' ', values).Append('"');
        }
    }

    private static void AppendQuoted(StringBuilder sb, string value)
    {
        // RFC 2616 §2.2 quoted-string: '"' and '\' need a quoted-pair.
        sb.Append('"');
        foreach (char c in value)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        sb.Append('"');
    }

    /// <summary>A recursive-descent reader of the RFC 6690 §2 grammar; errors are FormatExceptions with a position.</summary>
    private sealed class Parser(string text)
    {
        private int _pos;

        public List<CoapResourceDescription> ParseDocument()
        {
            var links = new List<CoapResourceDescription>();
            SkipWhitespace();
            if (_pos == text.Length)
            {
                return links;
            }

            while (true)
            {
                links.Add(ParseLink());
                SkipWhitespace();
                if (_pos == text.Length)
                {
                    return links;
                }

                Expect(',', "',' between links or the end of the document");
                SkipWhitespace();
            }
        }

        private CoapResourceDescription ParseLink()
        {
            Expect('<', "'<' to start a link");
            int close = text.IndexOf('>', _pos);
            if (close < 0)
            {
                throw Error("the link target has no closing '>'");
            }

            string target = text[_pos..close];
            if (target.Any(c => c == '<' || char.IsWhiteSpace(c) || char.IsControl(c) || c == '"'))
            {
                throw Error("the link target contains '<', '\"', whitespace or a control character");
            }

            _pos = close + 1;

            var rt = new List<string>();
            var @if = new List<string>();
            var ct = new List<int>();
            long? sz = null;
            bool obs = false;
            string? title = null;
            var extras = new List<CoapLinkAttribute>();

            while (true)
            {
                SkipWhitespace();
                if (_pos == text.Length || text[_pos] != ';')
                {
                    break;
                }

                _pos++;
                SkipWhitespace();
                int nameStart = _pos;
                while (_pos < text.Length && (IsAttrChar(text[_pos]) || text[_pos] == '*'))
                {
                    _pos++;
                }

                string name = text[nameStart.._pos];
                if (!IsParameterName(name))
                {
                    _pos = nameStart;
                    throw Error("expected a link parameter name after ';'");
                }

                SkipWhitespace();
                string? value = null;
                bool quoted = false;
                if (_pos < text.Length && text[_pos] == '=')
                {
                    _pos++;
                    SkipWhitespace();
                    (value, quoted) = ParseValue(name);
                }

                switch (name.ToLowerInvariant())
                {
                    case "rt":
                        rt.AddRange(SplitRelationTypes(name, value, quoted));
                        break;
                    case "if":
                        @if.AddRange(SplitRelationTypes(name, value, quoted));
                        break;
                    case "ct":
                        foreach (string part in SplitRelationTypes(name, value, quoted))
                        {
                            ct.Add((int)ParseCardinal(part, ushort.MaxValue, "ct"));
                        }

                        break;
                    case "sz":
                        // RFC 6690 §3.3: sz appears at most once; like RFC 5988 §5.4 for title, later ones are ignored.
                        long size = ParseCardinal(value ?? throw Error("sz needs a value"), long.MaxValue, "sz");
                        sz ??= size;
                        break;
                    case "obs":
                        // RFC 7641 §6: a flag. A value, which the RFC does not define, is ignored.
                        obs = true;
                        break;
                    case "title":
                        // RFC 5988 §5.4: occurrences after the first MUST be ignored.
                        title ??= value ?? throw Error("title needs a value");
                        break;
                    case "href":
                        throw Error("'href' is reserved for query filtering and is not a link parameter (RFC 6690 §2)");
                    default:
                        extras.Add(new CoapLinkAttribute(name, value));
                        break;
                }
            }

            return new CoapResourceDescription(target)
            {
                ResourceTypes = rt,
                Interfaces = @if,
                ContentFormats = ct,
                MaximumSize = sz,
                Observable = obs,
                Title = title,
                Attributes = extras,
            };
        }

        private (string Value, bool Quoted) ParseValue(string name)
        {
            if (_pos < text.Length && text[_pos] == '"')
            {
                if (name.EndsWith('*'))
                {
                    // RFC 6690 §2: a parameter named with '*' takes an ext-value (RFC 8187 §3.2.1), which is never quoted.
                    // Accepting one would hold a value Serialize writes bare, where its quotes and escapes no longer parse.
                    throw Error($"'{name}' takes an ext-value (RFC 8187), not a quoted string");
                }

                _pos++;
                var sb = new StringBuilder();
                while (true)
                {
                    if (_pos == text.Length)
                    {
                        throw Error($"the quoted value of '{name}' has no closing '\"'");
                    }

                    char c = text[_pos++];
                    if (c == '"')
                    {
                        return (sb.ToString(), true);
                    }

                    if (c == '\\')
                    {
                        if (_pos == text.Length)
                        {
                            throw Error($"the quoted value of '{name}' ends inside an escape");
                        }

                        c = text[_pos++];
                    }

                    sb.Append(c);
                }
            }

            // ptoken: it cannot contain ',', ';', '"', '\' or whitespace, so those end it.
            int start = _pos;
            while (_pos < text.Length && (IsPTokenChar(text[_pos]) || text[_pos] >= 0x80))
            {
                _pos++;
            }

            if (_pos == start)
            {
                throw Error($"'{name}=' needs a value");
            }

            return (text[start.._pos], false);
        }

        private List<string> SplitRelationTypes(string name, string? value, bool quoted)
        {
            if (value is null)
            {
                throw Error($"'{name}' needs a value");
            }

            // relation-types: one bare value, or space-separated values in quotes (RFC 6690 §2).
            List<string> parts = quoted ? [.. value.Split(' ', StringSplitOptions.RemoveEmptyEntries)] : [value];
            if (parts.Count == 0 || parts.Any(p => p.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '"' or '\\')))
            {
                throw Error($"'{name}' has an empty or malformed value");
            }

            return parts;
        }

        private long ParseCardinal(string value, long max, string name)
        {
            if (value.Length == 0 || !value.All(char.IsAsciiDigit) || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n > max)
            {
                throw Error($"{name} value '{value}' is not a number from 0 to {max}");
            }

            return n;
        }

        private void SkipWhitespace()
        {
            // RFC 6690 §5 writes links across lines; RFC 5988 allows whitespace around separators.
            while (_pos < text.Length && text[_pos] is ' ' or '\t' or '\r' or '\n')
            {
                _pos++;
            }
        }

        private void Expect(char c, string what)
        {
            if (_pos >= text.Length || text[_pos] != c)
            {
                throw Error($"expected {what}");
            }

            _pos++;
        }

        private FormatException Error(string message)
            => new($"Invalid link format at offset {_pos}: {message}{(_pos < text.Length ? $" (found '{text[_pos]}')" : " (found the end)")}.");
    }
}
