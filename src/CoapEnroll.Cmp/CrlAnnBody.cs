using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>
/// crlann (RFC 9810 §5.3.16): CRLAnnContent ::= SEQUENCE OF CertificateList, each CRL kept as its DER. A CA sends it to
/// announce new CRLs; this server sends it to the observers of <c>/.well-known/cmp</c> (RFC 9482 §2.5, RFC 7641).
/// </summary>
public sealed class CrlAnnBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.Crlann;

    /// <summary>The announced CRLs (CertificateList DER, RFC 5280 §5.1); at least one.</summary>
    public required IReadOnlyList<ReadOnlyMemory<byte>> Crls { get; init; }

    internal static CrlAnnBody ReadContent(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        var list = new List<ReadOnlyMemory<byte>>();
        while (seq.HasData)
        {
            list.Add(CmpDer.ReadRawSequence(seq, "CertificateList"));
        }

        return new CrlAnnBody { Crls = CmpDer.NonEmpty(list, "CRLAnnContent") };
    }

    private protected override void WriteContent(AsnWriter writer) => CmpDer.WriteRawSequenceOf(writer, Crls);
}
