using System.Formats.Asn1;

namespace CoapEnroll.Est;

/// <summary>
/// application/csrattrs (Content-Format 285): <c>CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID</c>,
/// <c>AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }</c> (RFC 8951 §4), DER without base64 in EST-coaps (RFC 9148 §4.3).
/// </summary>
public static class EstCsrAttributes
{
    /// <summary>Most items accepted when decoding.</summary>
    public const int MaxItems = 64;

    /// <summary>
    /// The default response: POP linking is asked for (challengePassword OID, RFC 8951 §4 "MUST include" when required), a P-256
    /// key (attribute id-ecPublicKey with value secp256r1, reflecting the SubjectPublicKeyInfo algorithm) and ECDSA with SHA-256.
    /// </summary>
    public static IReadOnlyList<EstCsrAttribute> Default { get; } =
    [
        new(EstOids.ChallengePassword),
        new(EstOids.EcPublicKey, [EncodeOid(EstOids.Secp256r1)]),
        new(EstOids.EcdsaWithSha256),
    ];

    /// <summary>Encodes the items as DER.</summary>
    public static byte[] Encode(IEnumerable<EstCsrAttribute> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (EstCsrAttribute item in items)
            {
                if (item.Values is null)
                {
                    writer.WriteObjectIdentifier(item.Oid);
                    continue;
                }

                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(item.Oid);
                    using (writer.PushSetOf())
                    {
                        foreach (byte[] value in item.Values)
                        {
                            writer.WriteEncodedValue(value);
                        }
                    }
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>Decodes a DER CsrAttrs; throws <see cref="AsnContentException"/> when it is malformed or has data after it.</summary>
    public static IReadOnlyList<EstCsrAttribute> Decode(ReadOnlyMemory<byte> der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        AsnReader sequence = reader.ReadSequence();
        reader.ThrowIfNotEmpty();
        List<EstCsrAttribute> items = [];
        while (sequence.HasData)
        {
            if (items.Count == MaxItems)
            {
                throw new AsnContentException($"more than {MaxItems} CSR attributes");
            }

            if (sequence.PeekTag().HasSameClassAndValue(Asn1Tag.ObjectIdentifier))
            {
                items.Add(new EstCsrAttribute(sequence.ReadObjectIdentifier()));
                continue;
            }

            AsnReader attribute = sequence.ReadSequence();
            string oid = attribute.ReadObjectIdentifier();
            AsnReader set = attribute.ReadSetOf();
            attribute.ThrowIfNotEmpty();
            List<byte[]> values = [];
            while (set.HasData)
            {
                values.Add(set.ReadEncodedValue().ToArray());
            }

            items.Add(new EstCsrAttribute(oid, values));
        }

        return items;
    }

    internal static byte[] EncodeOid(string oid)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteObjectIdentifier(oid);
        return writer.Encode();
    }
}
