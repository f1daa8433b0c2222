namespace CoapEnroll.Ca;

/// <summary>
/// A subject a profile issues, written in RFC 4514 form with <see cref="NameTemplate"/> placeholders in its values
/// (<c>serialNumber={serialNumber}, CN={CN}, O=Example Devices</c>), or without any (an allowed literal name). A requested subject
/// matches when it holds exactly the template's attributes, filled from the requester's certificate, in any order.
/// </summary>
public sealed class SubjectTemplate
{
    private readonly IReadOnlyList<(string Oid, NameTemplate Value)> _attributes;

    private SubjectTemplate(string text, IReadOnlyList<(string, NameTemplate)> attributes)
    {
        Text = text;
        _attributes = attributes;
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>True when the template refers to the requester's certificate at all.</summary>
    public bool HasPlaceholders => _attributes.Any(a => a.Value.HasPlaceholders);

    /// <summary>Reads <paramref name="text"/>, or returns null with <paramref name="error"/> saying what is wrong.</summary>
    public static SubjectTemplate? TryParse(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        IReadOnlyList<NameAttribute>? attributes = DistinguishedNameParser.TryParseAttributes(text, out error);
        if (attributes is null)
        {
            error = $"'{text}' is not a distinguished name in RFC 4514 form: {error}";
            return null;
        }

        var parsed = new List<(string, NameTemplate)>();
        foreach (NameAttribute attribute in attributes)
        {
            NameTemplate? value = NameTemplate.TryParse(attribute.Value, out error);
            if (value is null)
            {
                return null;
            }

            parsed.Add((attribute.Oid, value));
        }

        return new SubjectTemplate(text, parsed);
    }

    /// <summary>The subject this template gives the requester whose certificate subject is <paramref name="subject"/>; null when a placeholder cannot be filled.</summary>
    public IReadOnlyList<NameAttribute>? Instantiate(IReadOnlyList<NameAttribute> subject)
    {
        var attributes = new List<NameAttribute>(_attributes.Count);
        foreach ((string oid, NameTemplate template) in _attributes)
        {
            if (template.Instantiate(subject) is not { Length: > 0 } value)
            {
                return null;
            }

            attributes.Add(new NameAttribute(oid, value));
        }

        return attributes;
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}
