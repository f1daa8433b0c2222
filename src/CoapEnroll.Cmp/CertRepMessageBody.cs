using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>ip, cp or kup: CertRepMessage ::= SEQUENCE { caPubs [1] OPTIONAL, response SEQUENCE OF CertResponse }.</summary>
public sealed class CertRepMessageBody : PkiBody
{
    /// <summary>A response body of the given kind.</summary>
    public CertRepMessageBody(PkiBodyType bodyType)
    {
        if (bodyType is not (PkiBodyType.Ip or PkiBodyType.Cp or PkiBodyType.Kup))
        {
            throw new ArgumentOutOfRangeException(nameof(bodyType), bodyType, "not ip, cp or kup");
        }

        BodyType = bodyType;
    }

    /// <inheritdoc/>
    public override PkiBodyType BodyType { get; }

    /// <summary>caPubs: CA certificates' DER, if present.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>>? CaPubs { get; init; }

    /// <summary>response.</summary>
    public required IReadOnlyList<CertResponse> Responses { get; init; }

    internal static CertRepMessageBody ReadContent(PkiBodyType type, AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        IReadOnlyList<ReadOnlyMemory<byte>>? caPubs = null;
        if (CmpDer.PeekIsContext(seq, 1))
        {
            AsnReader inner = seq.ReadSequence(CmpDer.Ctx(1));
            caPubs = CmpDer.ReadRawSequenceOf(inner, "caPubs", nonEmpty: true);
            inner.ThrowIfNotEmpty();
        }

        AsnReader responses = seq.ReadSequence();
        var list = new List<CertResponse>();
        while (responses.HasData)
        {
            list.Add(CertResponse.Read(responses));
        }

        seq.ThrowIfNotEmpty();
        return new CertRepMessageBody(type) { CaPubs = caPubs, Responses = list };
    }

    private protected override void WriteContent(AsnWriter writer)
    {
        writer.PushSequence();
        if (CaPubs is { } pubs)
        {
            writer.PushSequence(CmpDer.CtxC(1));
            CmpDer.WriteRawSequenceOf(writer, pubs);
            writer.PopSequence(CmpDer.CtxC(1));
        }

        writer.PushSequence();
        foreach (CertResponse r in Responses)
        {
            r.WriteTo(writer);
        }

        writer.PopSequence();
        writer.PopSequence();
    }
}
