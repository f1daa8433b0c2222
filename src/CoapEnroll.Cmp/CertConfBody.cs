using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>certConf: CertConfirmContent ::= SEQUENCE OF CertStatus (empty rejects all certificates).</summary>
public sealed class CertConfBody : PkiBody
{
    /// <inheritdoc/>
    public override PkiBodyType BodyType => PkiBodyType.CertConf;

    /// <summary>The statuses.</summary>
    public required IReadOnlyList<CertStatus> Statuses { get; init; }

    internal static CertConfBody ReadContent(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        var list = new List<CertStatus>();
        while (seq.HasData)
        {
            list.Add(CertStatus.Read(seq));
        }

        return new CertConfBody { Statuses = list };
    }

    private protected override void WriteContent(AsnWriter writer)
    {
        writer.PushSequence();
        foreach (CertStatus s in Statuses)
        {
            s.WriteTo(writer);
        }

        writer.PopSequence();
    }
}
