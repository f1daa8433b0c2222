using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>rp: RevRepContent ::= SEQUENCE { status SEQUENCE OF PKIStatusInfo, revCerts [0] OPTIONAL, crls [1] OPTIONAL } (CertIds and CRLs as DER).</summary>
public sealed class RevRepBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.Rp;

    /// <summary>status, one per request.</summary>
    public required IReadOnlyList<PkiStatusInfo> Statuses { get; init; }

    /// <summary>revCerts: each CertId's DER.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>>? RevCerts { get; init; }

    /// <summary>crls: each CertificateList's DER.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>>? Crls { get; init; }

    internal static RevRepBody ReadContent(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        AsnReader statusSeq = seq.ReadSequence();
        var statuses = new List<PkiStatusInfo>();
        while (statusSeq.HasData)
        {
            statuses.Add(PkiStatusInfo.Read(statusSeq));
        }

        IReadOnlyList<ReadOnlyMemory<byte>>? revCerts = null, crls = null;
        if (CmpDer.PeekIsContext(seq, 0))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(0));
            revCerts = CmpDer.ReadRawSequenceOf(inner, "revCerts", nonEmpty: true);
            inner.ThrowIfNotEmpty();
        }

        if (CmpDer.PeekIsContext(seq, 1))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(1));
            crls = CmpDer.ReadRawSequenceOf(inner, "crls", nonEmpty: true);
            inner.ThrowIfNotEmpty();
        }

        seq.ThrowIfNotEmpty();
        return new RevRepBody { Statuses = CmpDer.NonEmpty(statuses, "RevRepContent status"), RevCerts = revCerts, Crls = crls };
    }

    private protected override void WriteContent(AsnWriter writer)
    {
        writer.PushSequence();
        writer.PushSequence();
        foreach (PkiStatusInfo s in Statuses)
        {
            s.WriteTo(writer);
        }

        writer.PopSequence();
        WriteOptional(writer, 0, RevCerts);
        WriteOptional(writer, 1, Crls);
        writer.PopSequence();
    }

    private static void WriteOptional(AsnWriter writer, int number, IReadOnlyList<ReadOnlyMemory<byte>>? values)
    {
        if (values is { } v)
        {
            writer.PushSequence(CmpDer.CtxC(number));
            CmpDer.WriteRawSequenceOf(writer, v);
            writer.PopSequence(CmpDer.CtxC(number));
        }
    }
}
