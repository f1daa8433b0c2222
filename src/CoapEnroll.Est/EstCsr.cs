using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Est;

/// <summary>
/// What the EST layer reads from the attributes of a PKCS#10 request (RFC 2986) before handing it to the enrollment service: the
/// POP-linking challengePassword (RFC 7030 §3.5) and the server-side key generation attributes (RFC 7030 §4.4.1).
/// </summary>
internal sealed class EstCsr
{
    /// <summary>Longest challengePassword (RFC 7030 §3.5, PKCS#9 ub-challengePassword).</summary>
    public const int MaxChallengePasswordLength = 255;

    private EstCsr(CertificationRequest request)
    {
        Request = request;
    }

    /// <summary>The request, decoded once.</summary>
    public CertificationRequest Request { get; }

    /// <summary>The challengePassword text, or null when the attribute is absent.</summary>
    public string? ChallengePassword { get; private init; }

    /// <summary>SMIMECapabilities capability OIDs in the client's order of preference (RFC 8551 §2.5.2).</summary>
    public IReadOnlyList<SmimeCapability> SmimeCapabilities { get; private init; } = [];

    public bool HasSmimeCapabilities { get; private init; }

    public byte[]? AsymmetricDecryptKeyIdentifier { get; private init; }

    public byte[]? DecryptKeyIdentifier { get; private init; }

    /// <summary>The refusal of a request without a body, for every EST front end.</summary>
    public const string EmptyRequest = "empty request: POST a PKCS#10 CSR";

    /// <summary>Decodes without checking the signature; a problem comes back as text (<see cref="RejectionReason.MalformedRequest"/>).</summary>

    public static EstCsr? TryParse(ReadOnlyMemory<byte> der, out string? error)
    {
        if (der.IsEmpty)
        {
            // The decoder would only say that the ASN.1 is corrupted.
            error = EmptyRequest;
            return null;
        }

        switch (CertificationRequest.DecodePkcs10(der, out CertificationRequest? request, out string? detail))
        {
            case CertificationRequestDecodeStatus.TrailingData:
                error = "data follows the PKCS#10 request";
                return null;
            case CertificationRequestDecodeStatus.Malformed:
                error = "the PKCS#10 request cannot be decoded: " + detail;
                return null;
            default:
                return TryRead(request!, out error);
        }
    }

    /// <summary>Reads the EST attributes of a decoded request; a malformed attribute comes back as text.</summary>
    public static EstCsr? TryRead(CertificationRequest request, out string? error)
    {
        try
        {
            string? challenge = null;
            List<SmimeCapability> capabilities = [];
            bool hasCapabilities = false;
            byte[]? asymmetric = null;
            byte[]? symmetric = null;
            foreach (IGrouping<string?, AsnEncodedData> attribute in request.Attributes.GroupBy(a => a.Oid?.Value))
            {
                AsnEncodedData[] values = [.. attribute];
                switch (attribute.Key)
                {
                    case EstOids.ChallengePassword:
                        challenge = ReadDirectoryString(Single(values, "challengePassword"));
                        if (challenge.Length is 0 or > MaxChallengePasswordLength)
                        {
                            throw new AsnContentException($"challengePassword length {challenge.Length} is outside 1..{MaxChallengePasswordLength}");
                        }

                        break;
                    case EstOids.SmimeCapabilities:
                        hasCapabilities = true;
                        capabilities.AddRange(ReadCapabilities(Single(values, "SMIMECapabilities")));
                        break;
                    case EstOids.AsymmetricDecryptKeyIdentifier:
                        asymmetric = ReadOctetString(Single(values, "AsymmetricDecryptKeyIdentifier"));
                        break;
                    case EstOids.DecryptKeyIdentifier:
                        symmetric = ReadOctetString(Single(values, "DecryptKeyIdentifier"));
                        break;
                }
            }

            error = null;
            return new EstCsr(request)
            {
                ChallengePassword = challenge,
                SmimeCapabilities = capabilities,
                HasSmimeCapabilities = hasCapabilities,
                AsymmetricDecryptKeyIdentifier = asymmetric,
                DecryptKeyIdentifier = symmetric,
            };
        }
        catch (AsnContentException ex)
        {
            error = "malformed CSR attribute: " + ex.Message;
            return null;
        }
    }

    private static byte[] Single(AsnEncodedData[] values, string name) =>
        values.Length == 1 ? values[0].RawData : throw new AsnContentException($"{name} must have exactly one value, found {values.Length}");

    // DirectoryString (RFC 2985 §5.4.1 restricts challengePassword to DirectoryString{pkcs-9-ub-challengePassword}).
    private static string ReadDirectoryString(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        Asn1Tag tag = reader.PeekTag();
        string text = tag.TagValue switch
        {
            (int)UniversalTagNumber.UTF8String => reader.ReadCharacterString(UniversalTagNumber.UTF8String),
            (int)UniversalTagNumber.PrintableString => reader.ReadCharacterString(UniversalTagNumber.PrintableString),
            (int)UniversalTagNumber.BMPString => reader.ReadCharacterString(UniversalTagNumber.BMPString),
            (int)UniversalTagNumber.IA5String => reader.ReadCharacterString(UniversalTagNumber.IA5String),
            _ => throw new AsnContentException($"challengePassword has an unsupported string type {tag}"),
        };
        reader.ThrowIfNotEmpty();
        return text;
    }

    // SMIMECapabilities ::= SEQUENCE OF SMIMECapability; SMIMECapability ::= SEQUENCE { capabilityID OID, parameters ANY OPTIONAL }
    private static List<SmimeCapability> ReadCapabilities(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        AsnReader sequence = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        List<SmimeCapability> result = [];
        while (sequence.HasData)
        {
            AsnReader capability = sequence.ReadSequence();
            string oid = capability.ReadObjectIdentifier();
            result.Add(new SmimeCapability(oid, capability.HasData ? capability.ReadEncodedValue().ToArray() : default));

            capability.ThrowIfNotEmpty();
            if (result.Count > 64)
            {
                throw new AsnContentException("too many SMIMECapabilities");
            }
        }

        return result;
    }

    private static byte[] ReadOctetString(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        byte[] value = reader.ReadOctetString();
        reader.ThrowIfNotEmpty();
        if (value.Length is 0 or > 64)
        {
            throw new AsnContentException($"key identifier length {value.Length} is outside 1..64");
        }

        return value;
    }
}
