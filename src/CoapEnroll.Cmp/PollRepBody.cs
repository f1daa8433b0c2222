using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>pollRep: SEQUENCE OF SEQUENCE { certReqId, checkAfter, reason OPTIONAL }.</summary>
public sealed class PollRepBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.PollRep;

    /// <summary>The entries.</summary>
    public required IReadOnlyList<PollRepEntry> Entries { get; init; }

    internal static PollRepBody ReadContent(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        var list = new List<PollRepEntry>();
        while (seq.HasData)
        {
            AsnReader item = seq.ReadSequence();
            long id = CmpDer.ReadInt64(item, "certReqId");
            long after = CmpDer.ReadInt64(item, "checkAfter");
            IReadOnlyList<string>? reason = item.HasData ? CmpDer.ReadFreeText(item, "reason") : null;
            item.ThrowIfNotEmpty();
            list.Add(new PollRepEntry { CertReqId = id, CheckAfter = after, Reason = reason });
        }

        return new PollRepBody { Entries = CmpDer.NonEmpty(list, "PollRepContent") };
    }

    private protected override void WriteContent(AsnWriter writer)
    {
        writer.PushSequence();
        foreach (PollRepEntry e in Entries)
        {
            writer.PushSequence();
            writer.WriteInteger(e.CertReqId);
            writer.WriteInteger(e.CheckAfter);
            if (e.Reason is { } r)
            {
                CmpDer.WriteFreeText(writer, r);
            }

            writer.PopSequence();
        }

        writer.PopSequence();
    }
}
