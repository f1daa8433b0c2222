using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>pollReq: SEQUENCE OF SEQUENCE { certReqId }.</summary>
public sealed class PollReqBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.PollReq;

    /// <summary>The polled certReqIds.</summary>
    public required IReadOnlyList<long> CertReqIds { get; init; }

    internal static PollReqBody ReadContent(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        var list = new List<long>();
        while (seq.HasData)
        {
            AsnReader item = seq.ReadSequence();
            list.Add(CmpDer.ReadInt64(item, "certReqId"));
            item.ThrowIfNotEmpty();
        }

        return new PollReqBody { CertReqIds = CmpDer.NonEmpty(list, "PollReqContent") };
    }

    private protected override void WriteContent(AsnWriter writer)
    {
        writer.PushSequence();
        foreach (long id in CertReqIds)
        {
            writer.PushSequence();
            writer.WriteInteger(id);
            writer.PopSequence();
        }

        writer.PopSequence();
    }
}
