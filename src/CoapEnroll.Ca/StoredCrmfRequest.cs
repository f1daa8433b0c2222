using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca;

/// <summary>
/// Reads back a stored CRMF CertRequest (RFC 4211 section 5) for the approval of a pending request: its subject, public key and
/// extensions. The proof of possession came in the CertReqMsg around it, which is not stored; it was checked before the request was
/// stored as pending (<see cref="CertificateAuthority.IssueAsync"/> validates first), so the request carries a
/// <see cref="CheckedAtSubmission"/> proof. Only the approval path uses this: never a request as received.
/// </summary>
internal static class StoredCrmfRequest
{
    private static readonly byte[] s_emptyName = [0x30, 0x00];

    /// <summary>
    /// True when <paramref name="der"/> is shaped as a CertRequest (SEQUENCE { INTEGER, SEQUENCE, ... }), not as a PKCS#10
    /// CertificationRequest (whose SEQUENCE starts with a SEQUENCE).
    /// </summary>
    public static bool IsCrmf(ReadOnlyMemory<byte> der)
    {
        try
        {
            AsnReader seq = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
            return seq.HasData && seq.PeekTag().HasSameClassAndValue(Asn1Tag.Integer);
        }
        catch (AsnContentException)
        {
            return false;
        }
    }

    /// <summary>Decodes the stored CertRequest; throws <see cref="CsrRejectedException"/> when it cannot be decoded.</summary>
    public static CertificationRequest Decode(ReadOnlyMemory<byte> der)
    {
        try
        {
            var outer = new AsnReader(der, AsnEncodingRules.DER);
            AsnReader request = outer.ReadSequence();
            outer.ThrowIfNotEmpty();
            request.ReadInteger();
            AsnReader template = request.ReadSequence();
            byte[] subject = s_emptyName;
            PublicKey? key = null;
            var extensions = new List<X509Extension>();
            while (template.HasData)
            {
                Asn1Tag tag = template.PeekTag();
                switch (tag.TagClass == TagClass.ContextSpecific ? tag.TagValue : -1)
                {
                    case 5:
                        // Name is a CHOICE: explicitly tagged even in an IMPLICIT TAGS module.
                        AsnReader name = template.ReadSequence(tag);
                        subject = name.ReadEncodedValue().ToArray();
                        name.ThrowIfNotEmpty();
                        break;
                    case 6:
                        byte[] spki = Retagged(template.ReadEncodedValue());
                        if (!HasEmptyKey(spki))
                        {
                            key = PublicKey.CreateFromSubjectPublicKeyInfo(spki, out _);
                        }

                        break;
                    case 9:
                        AsnReader list = new AsnReader(Retagged(template.ReadEncodedValue()), AsnEncodingRules.DER).ReadSequence();
                        while (list.HasData)
                        {
                            AsnReader extension = list.ReadSequence();
                            string oid = extension.ReadObjectIdentifier();
                            bool critical = extension.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && extension.ReadBoolean();
                            extensions.Add(new X509Extension(oid, extension.ReadOctetString(), critical));
                            extension.ThrowIfNotEmpty();
                        }

                        break;
                    case -1:
                        throw new AsnContentException("a certTemplate field is not context-tagged");
                    default:
                        template.ReadEncodedValue();
                        break;
                }
            }

            return new CertificationRequest(CertificationRequestFormat.Crmf, der, new X500DistinguishedName(subject), key, extensions,
                key is null ? null : CheckedAtSubmission.Instance);
        }
        catch (Exception ex) when (ex is AsnContentException or System.Security.Cryptography.CryptographicException)
        {
            throw new CsrRejectedException(RejectionReason.MalformedRequest, $"the stored CRMF request cannot be decoded: {ex.Message}");
        }
    }

    // An IMPLICIT [n] SEQUENCE with the universal SEQUENCE tag back (a one-octet tag either way).
    private static byte[] Retagged(ReadOnlyMemory<byte> encoded)
    {
        byte[] copy = encoded.ToArray();
        copy[0] = 0x30;
        return copy;
    }

    private static bool HasEmptyKey(byte[] spki)
    {
        AsnReader seq = new AsnReader(spki, AsnEncodingRules.DER).ReadSequence();
        seq.ReadSequence();
        return seq.ReadBitString(out _).Length == 0;
    }

    /// <summary>The CertReqMsg's proof, checked when the request was received and stored as pending.</summary>
    internal sealed class CheckedAtSubmission : ProofOfPossession
    {
        public static CheckedAtSubmission Instance { get; } = new();

        public override ProofOfPossessionMethod Method => ProofOfPossessionMethod.Signature;

        protected override ProofOfPossessionResult CheckCore() => ProofOfPossessionResult.Verified;
    }
}
