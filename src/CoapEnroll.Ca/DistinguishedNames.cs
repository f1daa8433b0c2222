using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CoapEnroll.Ca;

/// <summary>
/// Reading distinguished names as attributes, and the one comparison the CA uses to decide whether two names are the same name:
/// reserved names and names held by another requester are matched with <see cref="Key"/>.
/// </summary>
public static class DistinguishedNames
{
    /// <summary>id-at-commonName (RFC 5280 Appendix A).</summary>
    public const string CommonNameOid = "2.5.4.3";

    /// <summary>id-at-serialNumber (RFC 5280 Appendix A): the device serial number of an IDevID (IEEE 802.1AR section 8.6).</summary>
    public const string SerialNumberOid = "2.5.4.5";

    private static readonly Dictionary<string, string> s_shortNames = new(StringComparer.Ordinal)
    {
        [CommonNameOid] = "CN",
        [SerialNumberOid] = "serialNumber",
        ["2.5.4.6"] = "C",
        ["2.5.4.7"] = "L",
        ["2.5.4.8"] = "ST",
        ["2.5.4.10"] = "O",
        ["2.5.4.11"] = "OU",
        ["0.9.2342.19200300.100.1.25"] = "DC",
        ["0.9.2342.19200300.100.1.1"] = "UID",
    };

    /// <summary>
    /// The attributes of <paramref name="name"/> in encoded order, every element of a multi-valued RDN on its own; null when the
    /// encoding is not an RDNSequence (RFC 5280 section 4.1.2.4).
    /// </summary>
    public static IReadOnlyList<NameAttribute>? TryGetAttributes(X500DistinguishedName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return TryGetAttributes(name.RawData);
    }

    private static List<NameAttribute>? TryGetAttributes(ReadOnlyMemory<byte> encodedName)
    {
        try
        {
            var attributes = new List<NameAttribute>();
            var reader = new AsnReader(encodedName, AsnEncodingRules.BER);
            AsnReader rdns = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            while (rdns.HasData)
            {
                AsnReader rdn = rdns.ReadSetOf(skipSortOrderValidation: true);
                while (rdn.HasData)
                {
                    AsnReader pair = rdn.ReadSequence();
                    string oid = pair.ReadObjectIdentifier();
                    ReadOnlyMemory<byte> value = pair.ReadEncodedValue();
                    pair.ThrowIfNotEmpty();
                    attributes.Add(new NameAttribute(oid, ValueText(value)));
                }
            }

            return attributes;
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    /// <summary>The values of attribute <paramref name="oid"/> in <paramref name="attributes"/>.</summary>
    public static IEnumerable<string> ValuesOf(IReadOnlyList<NameAttribute> attributes, string oid) =>
        attributes.Where(a => a.Oid == oid).Select(a => a.Value);

    /// <summary>How an attribute type is written in messages: its short name (CN, serialNumber, O, …) or its OID.</summary>
    public static string ShortName(string oid) => s_shortNames.TryGetValue(oid, out string? name) ? name : oid;

    /// <summary>
    /// A key that is equal for two names exactly when they are the same name to this CA: the same attributes in any order and RDN
    /// grouping, each value compared as text (whatever string type carries it) after case folding and with leading, trailing and
    /// repeated white space ignored, as RFC 4518 section 2.6.1 treats insignificant space (its Unicode normalization is not applied).
    /// The hex SHA-256 of a canonical form; a name that does not decode gets the key of its encoding.
    /// </summary>
    public static string Key(X500DistinguishedName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return KeyOfEncoded(name.RawData);
    }

    /// <summary><see cref="Key(X500DistinguishedName)"/> of an encoded Name.</summary>
    internal static string KeyOfEncoded(ReadOnlyMemory<byte> encodedName)
    {
        List<NameAttribute>? attributes = TryGetAttributes(encodedName);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (attributes is null)
        {
            hash.AppendData("undecodable:"u8);
            hash.AppendData(encodedName.Span);
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }

        var items = new string[attributes.Count];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = string.Concat(attributes[i].Oid, "=", Fold(attributes[i].Value));
        }

        Array.Sort(items, StringComparer.Ordinal);
        Span<byte> length = stackalloc byte[4];
        foreach (string item in items)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(item);
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// <see cref="Key(X500DistinguishedName)"/> of the subject of an encoded certificate, read from its tbsCertificate (RFC 5280
    /// section 4.1) without loading the certificate; null when <paramref name="certificate"/> is not a certificate.
    /// </summary>
    internal static string? SubjectKeyOfCertificate(ReadOnlyMemory<byte> certificate)
    {
        try
        {
            var reader = new AsnReader(certificate, AsnEncodingRules.DER);
            AsnReader tbs = reader.ReadSequence().ReadSequence();
            if (tbs.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                tbs.ReadEncodedValue(); // version
            }

            tbs.ReadEncodedValue(); // serialNumber
            tbs.ReadEncodedValue(); // signature
            tbs.ReadEncodedValue(); // issuer
            tbs.ReadEncodedValue(); // validity
            return KeyOfEncoded(tbs.ReadEncodedValue());
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when both lists hold the same attributes with the same values, character for character, in any order: how a requested
    /// subject is compared with the names it is bound to.
    /// </summary>
    public static bool SameAttributes(IReadOnlyList<NameAttribute> a, IReadOnlyList<NameAttribute> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a.Count == b.Count
            && a.OrderBy(x => x.Oid, StringComparer.Ordinal).ThenBy(x => x.Value, StringComparer.Ordinal)
                .SequenceEqual(b.OrderBy(x => x.Oid, StringComparer.Ordinal).ThenBy(x => x.Value, StringComparer.Ordinal));
    }

    /// <summary>A value as <see cref="Key"/> compares it: case folded, white space runs as one space, trimmed.</summary>
    public static string Fold(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var folded = new StringBuilder(value.Length);
        bool space = false;
        foreach (char c in value.Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }

            if (space)
            {
                folded.Append(' ');
                space = false;
            }

            folded.Append(char.ToLowerInvariant(char.ToUpperInvariant(c)));
        }

        return folded.ToString();
    }

    private static string ValueText(ReadOnlyMemory<byte> encoded)
    {
        try
        {
            var reader = new AsnReader(encoded, AsnEncodingRules.BER);
            Asn1Tag tag = reader.PeekTag();
            if (tag.TagClass == TagClass.Universal && (UniversalTagNumber)tag.TagValue is UniversalTagNumber.UTF8String or UniversalTagNumber.PrintableString
                or UniversalTagNumber.IA5String or UniversalTagNumber.BMPString or UniversalTagNumber.T61String or UniversalTagNumber.VisibleString
                or UniversalTagNumber.NumericString)
            {
                return reader.ReadCharacterString((UniversalTagNumber)tag.TagValue);
            }
        }
        catch (AsnContentException)
        {
        }

        return "#" + Convert.ToHexStringLower(encoded.Span);
    }
}
