namespace CoapEnroll.Ca;

/// <summary>
/// A subject alternative name a profile issues, with <see cref="NameTemplate"/> placeholders: <c>DNS:{CN}.devices.example</c>,
/// <c>URI:urn:dev:sn:{serialNumber}</c>, or a literal <c>IP:192.0.2.7</c> (addresses take no placeholders).
/// </summary>
public sealed class SubjectAltNameTemplate
{
    private SubjectAltNameTemplate(string text, GeneralNameKind kind, NameTemplate value)
    {
        Text = text;
        Kind = kind;
        Value = value;
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>The name form.</summary>
    public GeneralNameKind Kind { get; }

    /// <summary>The name with its placeholders.</summary>
    public NameTemplate Value { get; }

    /// <summary>True when the template refers to the requester's certificate at all.</summary>
    public bool HasPlaceholders => Value.HasPlaceholders;

    /// <summary>Reads <paramref name="text"/> (DNS:…, URI:… or IP:…), or returns null with <paramref name="error"/> saying what is wrong.</summary>
    public static SubjectAltNameTemplate? TryParse(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("IP:", StringComparison.OrdinalIgnoreCase))
        {
            if (!GeneralName.TryParse(text, out GeneralName address, out error))
            {
                return null;
            }

            return new SubjectAltNameTemplate(text, GeneralNameKind.IPAddress, NameTemplate.TryParse(address.Value, out error)!);
        }

        GeneralNameKind? kind = text.StartsWith("DNS:", StringComparison.OrdinalIgnoreCase) ? GeneralNameKind.Dns
            : text.StartsWith("URI:", StringComparison.OrdinalIgnoreCase) ? GeneralNameKind.Uri
            : null;
        string value = kind is null ? "" : text[(text.IndexOf(':', StringComparison.Ordinal) + 1)..];
        if (kind is null || value.Length == 0)
        {
            error = $"'{text}' is not DNS:name, URI:uri or IP:address";
            return null;
        }

        NameTemplate? template = NameTemplate.TryParse(value, out error);
        return template is null ? null : new SubjectAltNameTemplate(text, kind.Value, template);
    }

    /// <summary>The name this template gives the requester whose certificate subject is <paramref name="subject"/>; null when a placeholder cannot be filled.</summary>
    public GeneralName? Instantiate(IReadOnlyList<NameAttribute> subject) =>
        Value.Instantiate(subject) is { Length: > 0 } value ? new GeneralName(Kind, value) : null;

    /// <inheritdoc/>
    public override string ToString() => Text;
}
