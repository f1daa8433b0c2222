using System.Collections.Frozen;
using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CoapEnroll.Ca;

/// <summary>
/// The rules on a request's template that hold whatever the profile: the requested subject as a certificate may carry it, read from its DER rather than through the platform (which throws on some
/// invalid strings and copies others through): a non-empty RDNSequence of at most 16 single-valued RDNs; each value of the string
/// type its attribute allows (DirectoryString as UTF8String or PrintableString, RFC 5280 section 4.1.2.4), valid for that type,
/// without control or bidirectional formatting characters, non-empty and within its upper bound (RFC 5280 Appendix A); each
/// attribute type once, except OU and DC; in the profile's allow list when it has one. And the requested extensions: each at most once.
/// </summary>
internal static class TemplateRules
{
    public const int MaxRdns = 16;

    private const string CommonName = "2.5.4.3";
    private const string SerialNumber = "2.5.4.5";
    private const string Country = "2.5.4.6";
    private const string OrganizationalUnit = "2.5.4.11";
    private const string DnQualifier = "2.5.4.46";
    private const string DomainComponent = "0.9.2342.19200300.100.1.25";
    private const string EmailAddress = "1.2.840.113549.1.9.1";

    private static readonly FrozenDictionary<string, string> s_names = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [CommonName] = "CN",
        ["2.5.4.4"] = "SN",
        [SerialNumber] = "serialNumber",
        [Country] = "C",
        ["2.5.4.7"] = "L",
        ["2.5.4.8"] = "ST",
        ["2.5.4.9"] = "street",
        ["2.5.4.10"] = "O",
        [OrganizationalUnit] = "OU",
        ["2.5.4.12"] = "title",
        ["2.5.4.42"] = "GN",
        [DnQualifier] = "dnQualifier",
        [DomainComponent] = "DC",
        ["0.9.2342.19200300.100.1.1"] = "UID",
        [EmailAddress] = "emailAddress",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    // Strict: an invalid sequence throws rather than becoming U+FFFD.
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Checks the subject, against <paramref name="profile"/>'s allow list too when given; throws <see cref="CsrRejectedException"/>
    /// with the reason on the first rule it breaks.
    /// </summary>
    public static void CheckSubject(X500DistinguishedName subject, CertificateProfile? profile)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        try
        {
            var outer = new AsnReader(subject.RawData, AsnEncodingRules.DER);
            AsnReader rdns = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            int count = 0;
            while (rdns.HasData)
            {
                if (++count > MaxRdns)
                {
                    throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject has more than {MaxRdns} RDNs");
                }

                AsnReader rdn = rdns.ReadSetOf();
                AsnReader attribute = rdn.ReadSequence();
                if (rdn.HasData)
                {
                    throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, "subject has a multi-valued RDN");
                }

                string type = attribute.ReadObjectIdentifier();
                Asn1Tag tag = attribute.PeekTag();
                ReadOnlyMemory<byte> content = attribute.ReadEncodedValue();
                attribute.ThrowIfNotEmpty();
                string name = NameOf(type);

                string value = ReadString(type, name, tag, content);
                CheckCharacters(name, value);
                int upperBound = UpperBound(type);
                if (value.Length > upperBound)
                {
                    throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject attribute {name} is longer than {upperBound}");
                }

                int times = seen[type] = seen.GetValueOrDefault(type) + 1;
                if (times > 1 && type is not (OrganizationalUnit or DomainComponent))
                {
                    throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, type == CommonName
                        ? "subject has more than one CN: at most one is accepted"
                        : $"subject attribute {name} appears more than once: only OU and DC may repeat");
                }

                if (profile is { SubjectPolicy: SubjectPolicy.AllowList } && !profile.AllowedSubjectAttributeOids.Contains(type))
                {
                    throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject attribute {name} is not allowed by profile '{profile.Name}'");
                }
            }

            if (count == 0)
            {
                throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, "subject is empty");
            }
        }
        catch (AsnContentException ex)
        {
            throw new CsrRejectedException(RejectionReason.MalformedRequest, $"the subject cannot be decoded: {ex.Message}");
        }
    }

    /// <summary>
    /// Requested extensions (PKCS#9 extensionRequest): each at most once (RFC 5280 section 4.2); subjectAltName is copied, the
    /// extensions the profile sets itself (key usage, extended key usage, basic constraints, key identifiers) are ignored, and a
    /// critical one of any other type is refused: the requester insists on it and the certificate would not carry it.
    /// </summary>
    public static void CheckRequestedExtensions(IReadOnlyList<X509Extension> extensions)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (X509Extension extension in extensions)
        {
            string oid = extension.Oid?.Value ?? "";
            if (!seen.Add(oid))
            {
                throw new CsrRejectedException(RejectionReason.MalformedRequest, $"extension {oid} is requested more than once (RFC 5280 section 4.2)");
            }

            if (extension.Critical && oid is not ("2.5.29.17" or "2.5.29.15" or "2.5.29.37" or "2.5.29.19" or "2.5.29.14" or "2.5.29.35"))
            {
                throw new CsrRejectedException(RejectionReason.UnsatisfiableRequest, $"the critical extension {oid} is requested, and this CA does not issue it");
            }
        }
    }

    private static string NameOf(string type) => s_names.TryGetValue(type, out string? name) ? $"{name} ({type})" : type;

    private static int UpperBound(string type) => type switch
    {
        Country => 2, // ub-country-name (alpha-2)
        "2.5.4.3" or "2.5.4.5" or "2.5.4.10" or "2.5.4.11" => 64, // ub-common-name, ub-serial-number, ub-organization-name, ub-organizational-unit-name
        "2.5.4.7" or "2.5.4.8" => 128, // ub-locality-name, ub-state-name
        _ => 256,
    };

    // Which string types an attribute's syntax allows: countryName, serialNumber and dnQualifier are PrintableString (X.520);
    // domainComponent (RFC 4519 section 2.4) and the legacy emailAddress (RFC 5280 section 4.1.2.6) IA5String; every other
    // attribute is taken as a DirectoryString, which new certificates encode as UTF8String or PrintableString (RFC 5280
    // section 4.1.2.4). BMPString, TeletexString and UniversalString are only for names issued before 2004.
    private static string ReadString(string type, string name, Asn1Tag tag, ReadOnlyMemory<byte> encoded)
    {
        bool universalPrimitive = tag.TagClass == TagClass.Universal && !tag.IsConstructed;
        var kind = (UniversalTagNumber)tag.TagValue;
        UniversalTagNumber[] allowed = type switch
        {
            Country or SerialNumber or DnQualifier => [UniversalTagNumber.PrintableString],
            DomainComponent or EmailAddress => [UniversalTagNumber.IA5String],
            _ => [UniversalTagNumber.UTF8String, UniversalTagNumber.PrintableString],
        };
        if (!universalPrimitive || !allowed.Contains(kind))
        {
            string found = universalPrimitive ? TypeName(kind) : $"[{tag.TagClass} {tag.TagValue}]{(tag.IsConstructed ? " constructed" : "")}";
            throw new CsrRejectedException(RejectionReason.SubjectNotAllowed,
                $"subject attribute {name} is a {found}: only {string.Join(" or ", allowed.Select(TypeName))} is accepted (RFC 5280 section 4.1.2.4)");
        }

        // The octets as sent: the reader's own string decoding would turn some problems into exceptions without a cause.
        AsnDecoder.ReadEncodedValue(encoded.Span, AsnEncodingRules.DER, out int contentOffset, out int contentLength, out _);
        ReadOnlySpan<byte> octets = encoded.Span.Slice(contentOffset, contentLength);
        if (octets.IsEmpty)
        {
            throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject attribute {name} is empty");
        }

        switch (kind)
        {
            case UniversalTagNumber.PrintableString:
                foreach (byte b in octets)
                {
                    if (!IsPrintableStringCharacter(b))
                    {
                        throw new CsrRejectedException(RejectionReason.MalformedRequest,
                            $"subject attribute {name} is a PrintableString holding {Describe(b)}, which X.680 does not allow in it (A-Z a-z 0-9 space ' ( ) + , - . / : = ?)");
                    }
                }

                return Encoding.ASCII.GetString(octets);

            case UniversalTagNumber.IA5String:
                foreach (byte b in octets)
                {
                    if (b > 0x7F)
                    {
                        throw new CsrRejectedException(RejectionReason.MalformedRequest, $"subject attribute {name} is an IA5String holding the octet 0x{b:X2}, outside 7-bit ASCII");
                    }
                }

                return Encoding.ASCII.GetString(octets);

            default:
                try
                {
                    return s_utf8.GetString(octets);
                }
                catch (DecoderFallbackException)
                {
                    throw new CsrRejectedException(RejectionReason.MalformedRequest, $"subject attribute {name} is a UTF8String that is not valid UTF-8");
                }
        }
    }

    // No control characters (C0, DEL, C1: Unicode category Cc) and no bidirectional formatting characters, which make a name read
    // differently from what it is, in a log, a terminal or an operator's listing.
    private static void CheckCharacters(string name, string value)
    {
        foreach (Rune rune in value.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.Control)
            {
                throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject attribute {name} contains the control character U+{rune.Value:X4}");
            }

            if (rune.Value is 0x061C or 0x200E or 0x200F or (>= 0x202A and <= 0x202E) or (>= 0x2066 and <= 0x2069))
            {
                throw new CsrRejectedException(RejectionReason.SubjectNotAllowed, $"subject attribute {name} contains the bidirectional formatting character U+{rune.Value:X4}");
            }
        }
    }

    // X.680 section 41.4, Table 10: the PrintableString characters.
    private static bool IsPrintableStringCharacter(byte b) =>
        b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)' ' or (byte)'\'' or (byte)'(' or (byte)')' or (byte)'+' or (byte)',' or (byte)'-' or (byte)'.' or (byte)'/' or (byte)':' or (byte)'=' or (byte)'?';

    private static string Describe(byte b) => b is >= 0x21 and < 0x7F ? $"'{(char)b}' (0x{b:X2})" : $"the octet 0x{b:X2}";

    private static string TypeName(UniversalTagNumber kind) => kind switch
    {
        UniversalTagNumber.T61String => "TeletexString",
        UniversalTagNumber.BMPString => "BMPString",
        UniversalTagNumber.UTF8String => "UTF8String",
        UniversalTagNumber.PrintableString => "PrintableString",
        UniversalTagNumber.IA5String => "IA5String",
        UniversalTagNumber.UniversalString => "UniversalString",
        UniversalTagNumber.VisibleString => "VisibleString",
        _ => kind.ToString(),
    };
}
