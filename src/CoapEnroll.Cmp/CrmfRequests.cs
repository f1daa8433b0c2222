using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CaProof = CoapEnroll.Ca.ProofOfPossession;

namespace CoapEnroll.Cmp;

/// <summary>
/// Turns a CRMF CertReqMsg (RFC 4211) of an ir, cr or kur into the CA's <see cref="CertificationRequest"/>: the template's subject,
/// public key and extensions, and its proof of possession, checked here so a bad one is answered with badPOP before anything else.
/// </summary>
public static class CrmfRequests
{
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string RsaEncryptionOid = "1.2.840.113549.1.1.1";

    private static readonly byte[] s_emptyName = [0x30, 0x00];

    /// <summary>
    /// Converts <paramref name="message"/>. Refused: template fields RFC 4211 section 5 forbids (serialNumber, signingAlg,
    /// issuerUID, subjectUID, a version other than v3), a subject or extensions that cannot be decoded (badCertTemplate,
    /// badDataFormat), a public key that cannot be decoded (badCertTemplate) or of an algorithm other than EC and RSA (badAlg),
    /// a missing or failing proof of possession (badPOP; an unsupported signature algorithm or key is badAlg), POPOSigningKey
    /// with poposkInput, keyEncipherment and keyAgreement proofs (badPOP), and raVerified unless
    /// <paramref name="requesterIsRa"/> (badPOP). A template without a public key asks for central key generation and must come
    /// without a proof. A template without a subject gets an empty one. Never throws for any decoded message.
    /// </summary>
    /// <param name="message">The CertReqMsg as decoded.</param>
    /// <param name="requesterIsRa">Whether the authenticated requester is a registration authority, whose raVerified counts.</param>
    public static CrmfConversion Convert(CertReqMsg message, bool requesterIsRa = false)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            return ConvertCore(message, requesterIsRa);
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException or ArgumentException or InvalidOperationException or FormatException)
        {
            return CrmfConversion.Failed(PkiFailureInfo.BadDataFormat, $"the certificate request cannot be processed: {ex.Message}");
        }
    }

    private static CrmfConversion ConvertCore(CertReqMsg message, bool requesterIsRa)
    {
        CertTemplate template = message.CertReq.Template;
        string? forbidden = template switch
        {
            { Version: { } v } when v != 2 => $"certTemplate version {v} is not v3 (2)",
            { SerialNumber: not null } => "certTemplate serialNumber must be omitted: the CA assigns it",
            { SigningAlg: not null } => "certTemplate signingAlg must be omitted: the CA chooses it",
            { IssuerUid: not null } => "certTemplate issuerUID must be omitted",
            { SubjectUid: not null } => "certTemplate subjectUID must be omitted",
            _ => null,
        };
        if (forbidden is not null)
        {
            return CrmfConversion.Failed(PkiFailureInfo.BadCertTemplate, forbidden + " (RFC 4211 section 5)");
        }

        var subject = new X500DistinguishedName(template.Subject is { } s ? s.ToArray() : s_emptyName);
        if (DistinguishedNames.TryGetAttributes(subject) is null)
        {
            return CrmfConversion.Failed(PkiFailureInfo.BadCertTemplate, "the certTemplate subject cannot be decoded");
        }

        string? extensionProblem = null;
        List<X509Extension>? extensions = template.Extensions is { } e ? ReadExtensions(e, out extensionProblem) : [];
        if (extensions is null)
        {
            return CrmfConversion.Failed(PkiFailureInfo.BadDataFormat, $"the certTemplate extensions cannot be decoded: {extensionProblem}");
        }

        ReadOnlyMemory<byte> encoded = message.CertReq.GetEncoded();
        if (template.PublicKey is not { } spki || HasEmptyKey(spki))
        {
            // Central key generation (RFC 9483 section 4.1.6): no key, so nothing to prove possession of.
            return message.Popo is null
                ? CrmfConversion.Converted(new CertificationRequest(CertificationRequestFormat.Crmf, encoded, subject, null, extensions, null), true, template.Validity)
                : CrmfConversion.Failed(PkiFailureInfo.BadPop, "a proof of possession came with a template without a public key (central key generation needs none)");
        }

        PublicKey key;
        try
        {
            key = PublicKey.CreateFromSubjectPublicKeyInfo(spki.Span, out int read);
            if (read != spki.Length)
            {
                return CrmfConversion.Failed(PkiFailureInfo.BadCertTemplate, "the certTemplate publicKey has trailing data");
            }
        }
        catch (CryptographicException)
        {
            return CrmfConversion.Failed(PkiFailureInfo.BadCertTemplate, "the certTemplate publicKey cannot be decoded");
        }

        if (key.Oid.Value is not (EcPublicKeyOid or RsaEncryptionOid))
        {
            return CrmfConversion.Failed(PkiFailureInfo.BadAlg, $"public key algorithm {key.Oid.Value} is not supported: EC and RSA are");
        }

        (CaProof? proof, PkiFailureInfo failure, string? detail) = ReadProof(message, encoded, key, requesterIsRa);
        if (proof is null)
        {
            return CrmfConversion.Failed(failure, detail!);
        }

        ProofOfPossessionResult result = proof.Check();
        if (!result.IsVerified)
        {
            PkiFailureInfo bit = result.Reason switch
            {
                RejectionReason.UnsupportedAlgorithm or RejectionReason.UnsupportedKeyType or RejectionReason.KeyTooWeak or RejectionReason.KeyNotAllowed => PkiFailureInfo.BadAlg,
                RejectionReason.MalformedRequest => PkiFailureInfo.BadCertTemplate,
                _ => PkiFailureInfo.BadPop,
            };
            return CrmfConversion.Failed(bit, result.Detail);
        }

        return CrmfConversion.Converted(new CertificationRequest(CertificationRequestFormat.Crmf, encoded, subject, key, extensions, proof), false, template.Validity);
    }

    private static (CaProof? Proof, PkiFailureInfo Failure, string? Detail) ReadProof(CertReqMsg message, ReadOnlyMemory<byte> encoded, PublicKey key, bool requesterIsRa)
    {
        ProofOfPossession? popo = message.Popo;
        switch (popo?.Kind)
        {
            case null:
                return (null, PkiFailureInfo.BadPop, "the proof of possession is missing (RFC 4211 section 4)");
            case ProofOfPossessionKind.RaVerified:
                return requesterIsRa
                    ? (RaVerifiedProof.Instance, PkiFailureInfo.None, null)
                    : (null, PkiFailureInfo.BadPop, "raVerified is accepted only from a registration authority");
            case ProofOfPossessionKind.Signature when popo.PoposkInput is not null:
                return (null, PkiFailureInfo.BadPop, "POPOSigningKey with poposkInput (sender or publicKeyMAC) is not supported: sign the CertRequest itself (RFC 4211 section 4.1)");
            case ProofOfPossessionKind.Signature when popo.SignatureAlgorithm is { } algorithm && popo.Signature is { } signature:
                var writer = new AsnWriter(AsnEncodingRules.DER);
                algorithm.WriteTo(writer);
                CrmfSignatureProof? proof = CrmfSignatureProof.TryCreate(encoded, writer.Encode(), signature, key, out string? problem);
                return proof is null ? (null, PkiFailureInfo.BadAlg, problem ?? "the POPOSigningKey algorithm is not usable") : (proof, PkiFailureInfo.None, null);
            case ProofOfPossessionKind.Signature:
                return (null, PkiFailureInfo.BadPop, "the POPOSigningKey has no algorithm or signature");
            default:
                return (null, PkiFailureInfo.BadPop,
                    $"{(popo.Kind == ProofOfPossessionKind.KeyEncipherment ? "keyEncipherment" : "keyAgreement")} proof of possession is not supported: only signature keys are certified");
        }
    }

    // RFC 9483 section 4.1.6 also allows a publicKey whose subjectPublicKey is an empty BIT STRING, naming only the algorithm.
    private static bool HasEmptyKey(ReadOnlyMemory<byte> spki)
    {
        try
        {
            AsnReader seq = new AsnReader(spki, AsnEncodingRules.DER).ReadSequence();
            seq.ReadSequence();
            return seq.ReadBitString(out _).Length == 0 && !seq.HasData;
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    // Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension; Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }.
    private static List<X509Extension>? ReadExtensions(ReadOnlyMemory<byte> der, out string? problem)
    {
        problem = null;
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            AsnReader list = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            var extensions = new List<X509Extension>();
            while (list.HasData)
            {
                AsnReader extension = list.ReadSequence();
                string oid = extension.ReadObjectIdentifier();
                bool critical = false;
                if (extension.HasData && extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean))
                {
                    critical = extension.ReadBoolean();
                    if (!critical)
                    {
                        problem = $"extension {oid} encodes critical FALSE, which DER omits";
                        return null;
                    }
                }

                byte[] value = extension.ReadOctetString();
                extension.ThrowIfNotEmpty();
                extensions.Add(new X509Extension(oid, value, critical));
            }

            if (extensions.Count == 0)
            {
                problem = "the extensions are empty";
                return null;
            }

            return extensions;
        }
        catch (AsnContentException ex)
        {
            problem = ex.Message;
            return null;
        }
    }
}
