using System.Collections.Immutable;

namespace CoapEnroll.Coap;

/// <summary>
/// One link of a CoRE Link Format document (RFC 6690 §2): the target and its attributes. Immutable;
/// derive variants with <c>with</c>. Equality compares every attribute, in order.
/// </summary>
public sealed record CoapResourceDescription
{
    private readonly string _path = "/";
    private readonly ImmutableArray<string> _resourceTypes = [];
    private readonly ImmutableArray<string> _interfaces = [];
    private readonly ImmutableArray<int> _contentFormats = [];
    private readonly long? _maximumSize;
    private readonly string? _title;
    private readonly ImmutableArray<CoapLinkAttribute> _attributes = [];

    /// <summary>Creates a description of the resource at <paramref name="path"/>.</summary>
    public CoapResourceDescription(string path) => Path = path;

    /// <summary>The target URI-reference written between "&lt;" and "&gt;", e.g. <c>/sensors/temp</c>.</summary>
    /// <exception cref="ArgumentException">It contains '&lt;', '&gt;', '"', whitespace or a control character.</exception>
    public string Path
    {
        get => _path;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            foreach (char c in value)
            {
                if (c is '<' or '>' or '"' || char.IsWhiteSpace(c) || char.IsControl(c))
                {
                    throw new ArgumentException($"A link target cannot contain '{c}'.", nameof(value));
                }
            }

            _path = value;
        }
    }

    /// <summary>Resource types, <c>rt</c> (RFC 6690 §3.1); each value is one space-free token.</summary>
    public IReadOnlyList<string> ResourceTypes
    {
        get => _resourceTypes;
        init => _resourceTypes = ValidateTokens(value, "rt");
    }

    /// <summary>Interface descriptions, <c>if</c> (RFC 6690 §3.2); each value is one space-free token.</summary>
    public IReadOnlyList<string> Interfaces
    {
        get => _interfaces;
        init => _interfaces = ValidateTokens(value, "if");
    }

    /// <summary>Content-Format codes, <c>ct</c> (RFC 7252 §7.2.1), each 0–65535.</summary>
    public IReadOnlyList<int> ContentFormats
    {
        get => _contentFormats;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            foreach (int ct in value)
            {
                if (ct is < 0 or > ushort.MaxValue)
                {
                    throw new ArgumentOutOfRangeException(nameof(value), ct, "A Content-Format is 0-65535 (RFC 7252 §7.2.1).");
                }
            }

            _contentFormats = [.. value];
        }
    }

    /// <summary>Maximum size estimate in bytes, <c>sz</c> (RFC 6690 §3.3).</summary>
    public long? MaximumSize
    {
        get => _maximumSize;
        init
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "sz cannot be negative.");
            }

            _maximumSize = value;
        }
    }

    /// <summary>The resource is observable, <c>obs</c> (RFC 7641 §6).</summary>
    public bool Observable { get; init; }

    /// <summary>Human-readable title, <c>title</c> (RFC 5988 §5.4).</summary>
    public string? Title
    {
        get => _title;
        init => _title = value;
    }

    /// <summary>
    /// Any other parameters, in order (rel, anchor, or extensions). Names modelled by the properties
    /// above, and "href" (RFC 6690 §2 reserves it for filtering), are not allowed here.
    /// </summary>
    public IReadOnlyList<CoapLinkAttribute> Attributes
    {
        get => _attributes;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            foreach (CoapLinkAttribute attribute in value)
            {
                if (!CoapLinkFormat.IsParameterName(attribute.Name))
                {
                    throw new ArgumentException($"'{attribute.Name}' is not a link parameter name.", nameof(value));
                }

                if (CoapLinkFormat.IsModelledName(attribute.Name) || attribute.Name.Equals("href", StringComparison.OrdinalIgnoreCase))
                {
                    throw new ArgumentException($"'{attribute.Name}' cannot be an extra attribute; use the property (href is reserved).", nameof(value));
                }
            }

            _attributes = [.. value];
        }
    }

    /// <inheritdoc/>
    public bool Equals(CoapResourceDescription? other)
        => other is not null
            && _path == other._path
            && _resourceTypes.SequenceEqual(other._resourceTypes)
            && _interfaces.SequenceEqual(other._interfaces)
            && _contentFormats.SequenceEqual(other._contentFormats)
            && _maximumSize == other._maximumSize
            && Observable == other.Observable
            && _title == other._title
            && _attributes.SequenceEqual(other._attributes);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_path, _resourceTypes.Length, _contentFormats.Length, _maximumSize, Observable, _title);

    /// <summary>This link in link format, e.g. <c>&lt;/s&gt;;rt="temp";ct=0</c>.</summary>
    public override string ToString() => CoapLinkFormat.Serialize([this]);

    private static ImmutableArray<string> ValidateTokens(IEnumerable<string> values, string name)
    {
        ArgumentNullException.ThrowIfNull(values);
        ImmutableArray<string> array = [.. values];
        foreach (string v in array)
        {
            // RFC 6690 §2 relation-types: the values are separated by spaces inside one quoted string.
            if (string.IsNullOrEmpty(v) || v.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '"' or '\\'))
            {
                throw new ArgumentException($"'{v}' is not a valid {name} value (non-empty, no spaces or quotes).", nameof(values));
            }
        }

        return array;
    }
}
