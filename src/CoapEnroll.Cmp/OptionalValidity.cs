using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>OptionalValidity of a CertTemplate, kept as its received DER (universal SEQUENCE tag) after its syntax is checked.</summary>
public sealed class OptionalValidity
{
    /// <summary>The DER of the SEQUENCE { notBefore [0] Time OPTIONAL, notAfter [1] Time OPTIONAL }.</summary>
    public required ReadOnlyMemory<byte> Encoded { get; init; }

    /// <summary>notBefore, if present.</summary>
    public DateTimeOffset? NotBefore => ReadTime(0);

    /// <summary>notAfter, if present.</summary>
    public DateTimeOffset? NotAfter => ReadTime(1);

    internal static OptionalValidity Read(AsnReader reader, Asn1Tag tag)
    {
        ReadOnlyMemory<byte> seqDer = CmpDer.ReadImplicitSequence(reader, tag.TagValue);
        AsnReader seq = new AsnReader(seqDer, CmpDer.Rules).ReadSequence();
        for (int n = 0; n < 2; n++)
        {
            if (CmpDer.PeekIsContext(seq, n))
            {
                AsnReader time = seq.ReadSequence(CmpDer.Ctx(n));
                if (time.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime))
                {
                    time.ReadUtcTime();
                }
                else
                {
                    time.ReadGeneralizedTime();
                }

                time.ThrowIfNotEmpty();
            }
        }

        seq.ThrowIfNotEmpty();
        return new OptionalValidity { Encoded = seqDer };
    }

    private DateTimeOffset? ReadTime(int number)
    {
        AsnReader seq = new AsnReader(Encoded, CmpDer.Rules).ReadSequence();
        if (number == 1 && CmpDer.PeekIsContext(seq, 0))
        {
            seq.ReadEncodedValue();
        }

        if (!CmpDer.PeekIsContext(seq, number))
        {
            return null;
        }

        AsnReader time = seq.ReadSequence(CmpDer.Ctx(number));
        return time.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) ? time.ReadUtcTime() : time.ReadGeneralizedTime();
    }

    internal void WriteTo(AsnWriter writer, Asn1Tag tag) => CmpDer.WriteImplicitSequence(writer, tag.TagValue, Encoded);
}
