using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>ir, cr or kur: CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg.</summary>
public sealed class CertReqMessagesBody : PkiBody
{
    /// <summary>A request body of the given kind.</summary>
    public CertReqMessagesBody(PkiBodyType bodyType)
    {
        if (bodyType is not (PkiBodyType.Ir or PkiBodyType.Cr or PkiBodyType.Kur))
        {
            throw new ArgumentOutOfRangeException(nameof(bodyType), bodyType, "not ir, cr or kur");
        }

        BodyType = bodyType;
    }

    /// <inheritdoc/>
    public override PkiBodyType BodyType { get; }

    /// <summary>The requests.</summary>
    public required IReadOnlyList<CertReqMsg> Requests { get; init; }

    internal static CertReqMessagesBody ReadContent(PkiBodyType type, AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        var list = new List<CertReqMsg>();
        while (seq.HasData)
        {
            list.Add(CertReqMsg.Read(seq));
        }

        return new CertReqMessagesBody(type) { Requests = CmpDer.NonEmpty(list, "CertReqMessages") };
    }

    private protected override void WriteContent(AsnWriter writer)
    {
        writer.PushSequence();
        foreach (CertReqMsg msg in Requests)
        {
            msg.WriteTo(writer);
        }

        writer.PopSequence();
    }
}
