using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Net;
using System.Net.Sockets;

namespace CoapEnroll.Ca;

/// <summary>
/// One subject alternative name (RFC 5280 section 4.2.1.6). <see cref="Value"/> is the DNS name or URI as encoded, the address in
/// its canonical text form, or for <see cref="GeneralNameKind.Other"/> the hex of the GeneralName's DER.
/// </summary>
public readonly record struct GeneralName(GeneralNameKind Kind, string Value)
{
    private static readonly Asn1Tag s_dnsName = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag s_uri = new(TagClass.ContextSpecific, 6);
    private static readonly Asn1Tag s_ipAddress = new(TagClass.ContextSpecific, 7);

    /// <summary>
    /// True when both name the same thing: DNS names compared without regard to ASCII case (RFC 4343), addresses by their octets,
    /// URIs and other forms exactly.
    /// </summary>
    public bool Matches(GeneralName other) =>
        Kind == other.Kind && string.Equals(Value, other.Value, Kind == GeneralNameKind.Dns ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <summary>DNS:name, IP:address, URI:uri, or for other forms the hex of the encoding.</summary>
    public override string ToString() => Kind switch
    {
        GeneralNameKind.Dns => $"DNS:{Value}",
        GeneralNameKind.IPAddress => $"IP:{Value}",
        GeneralNameKind.Uri => $"URI:{Value}",
        _ => $"#{Value}",
    };

    /// <summary>Reads the form written by <see cref="ToString"/> for DNS, IP and URI names (the prefix is not case-sensitive).</summary>
    public static bool TryParse(string text, out GeneralName name, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        name = default;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        string prefix = colon < 0 ? "" : text[..colon];
        string value = colon < 0 ? "" : text[(colon + 1)..];
        if (value.Length == 0)
        {
            error = $"'{text}' is not DNS:name, IP:address or URI:uri";
            return false;
        }

        switch (prefix.ToUpperInvariant())
        {
            case "DNS":
                name = new GeneralName(GeneralNameKind.Dns, value);
                break;
            case "URI":
                name = new GeneralName(GeneralNameKind.Uri, value);
                break;
            case "IP":
                if (!IPAddress.TryParse(value, out IPAddress? address) || !value.Contains(address.AddressFamily == AddressFamily.InterNetwork ? '.' : ':'))
                {
                    error = $"'{value}' is not an IP address";
                    return false;
                }

                name = new GeneralName(GeneralNameKind.IPAddress, address.ToString());
                break;
            default:
                error = $"'{text}' is not DNS:name, IP:address or URI:uri";
                return false;
        }

        error = null;
        return true;
    }

    /// <summary>The names of a subjectAltName extension's value (GeneralNames), or null when it does not decode.</summary>
    public static IReadOnlyList<GeneralName>? TryDecodeAll(ReadOnlyMemory<byte> subjectAltName)
    {
        try
        {
            var reader = new AsnReader(subjectAltName, AsnEncodingRules.DER);
            AsnReader names = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var decoded = new List<GeneralName>();
            while (names.HasData)
            {
                Asn1Tag tag = names.PeekTag();
                if (tag.HasSameClassAndValue(s_dnsName))
                {
                    decoded.Add(new GeneralName(GeneralNameKind.Dns, names.ReadCharacterString(UniversalTagNumber.IA5String, s_dnsName)));
                }
                else if (tag.HasSameClassAndValue(s_uri))
                {
                    decoded.Add(new GeneralName(GeneralNameKind.Uri, names.ReadCharacterString(UniversalTagNumber.IA5String, s_uri)));
                }
                else if (tag.HasSameClassAndValue(s_ipAddress))
                {
                    ReadOnlyMemory<byte> encoded = names.PeekEncodedValue();
                    byte[] octets = names.ReadOctetString(s_ipAddress);
                    // An iPAddress of another length is a name constraint's address and mask (RFC 5280 section 4.2.1.10), no address.
                    decoded.Add(octets.Length is 4 or 16
                        ? new GeneralName(GeneralNameKind.IPAddress, new IPAddress(octets).ToString())
                        : new GeneralName(GeneralNameKind.Other, Convert.ToHexStringLower(encoded.Span)));
                }
                else
                {
                    decoded.Add(new GeneralName(GeneralNameKind.Other, Convert.ToHexStringLower(names.ReadEncodedValue().Span)));
                }
            }

            return decoded;
        }
        catch (AsnContentException)
        {
            return null;
        }
    }
}
