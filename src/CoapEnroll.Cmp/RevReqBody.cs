using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>rr: RevReqContent ::= SEQUENCE OF RevDetails.</summary>
public sealed class RevReqBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.Rr;

    /// <summary>The revocation requests.</summary>
    public required IReadOnlyList<RevDetails> Requests { get; init; }

    internal static RevReqBody ReadContent(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        var list = new List<RevDetails>();
        while (seq.HasData)
        {
            list.Add(RevDetails.Read(seq));
        }

        return new RevReqBody { Requests = CmpDer.NonEmpty(list, "RevReqContent") };
    }

    private protected override void WriteContent(AsnWriter writer)
    {
        writer.PushSequence();
        foreach (RevDetails d in Requests)
        {
            d.WriteTo(writer);
        }

        writer.PopSequence();
    }
}
