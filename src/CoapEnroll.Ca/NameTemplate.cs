using System.Text;

namespace CoapEnroll.Ca;

/// <summary>
/// The text of a name with placeholders: <c>{CN}</c>, <c>{serialNumber}</c> or any attribute type <see cref="DistinguishedNameParser"/>
/// knows (or a dotted OID) stands for the value of that attribute in the requester's certificate subject. Used by
/// <see cref="SubjectTemplate"/> per attribute value and by <see cref="SubjectAltNameTemplate"/>.
/// </summary>
public sealed class NameTemplate
{
    // Literal text, or (Oid set) the value of that attribute.
    private readonly IReadOnlyList<(string Literal, string? Oid)> _parts;

    private NameTemplate(string text, IReadOnlyList<(string, string?)> parts)
    {
        Text = text;
        _parts = parts;
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>True when the template refers to the requester's certificate at all.</summary>
    public bool HasPlaceholders => _parts.Any(p => p.Oid is not null);

    /// <summary>Reads <paramref name="text"/>: '{' opens a placeholder, '}' closes it; there is no escape for literal braces.</summary>
    public static NameTemplate? TryParse(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = new List<(string, string?)>();
        var literal = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '}')
            {
                error = $"'{text}' has a '}}' without '{{'";
                return null;
            }

            if (c != '{')
            {
                literal.Append(c);
                continue;
            }

            int close = text.IndexOf('}', i + 1);
            if (close < 0)
            {
                error = $"'{text}' has a '{{' without '}}'";
                return null;
            }

            string type = text[(i + 1)..close];
            if (!DistinguishedNameParser.TryGetAttributeOid(type, out string? oid))
            {
                error = $"'{{{type}}}' in '{text}' is not an attribute type (use {{CN}}, {{serialNumber}}, {{O}}, … or a dotted OID)";
                return null;
            }

            if (literal.Length > 0)
            {
                parts.Add((literal.ToString(), null));
                literal.Clear();
            }

            parts.Add(("", oid));
            i = close;
        }

        if (literal.Length > 0)
        {
            parts.Add((literal.ToString(), null));
        }

        error = null;
        return new NameTemplate(text, parts);
    }

    /// <summary>
    /// The text with each placeholder replaced by the value of its attribute in <paramref name="subject"/>; null when the subject
    /// has no such attribute or more than one (which one would be meant is not for the CA to guess).
    /// </summary>
    public string? Instantiate(IReadOnlyList<NameAttribute> subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var text = new StringBuilder();
        foreach ((string literal, string? oid) in _parts)
        {
            if (oid is null)
            {
                text.Append(literal);
                continue;
            }

            string[] values = [.. DistinguishedNames.ValuesOf(subject, oid)];
            if (values.Length != 1)
            {
                return null;
            }

            text.Append(values[0]);
        }

        return text.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}
