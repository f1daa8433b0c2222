using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>A PKIBody: one alternative of the CHOICE, written under its EXPLICIT context tag.</summary>
public abstract class PkiBody
{
    /// <summary>Which alternative this is.</summary>
    public abstract PkiBodyType BodyType { get; }

    internal static PkiBody Read(AsnReader reader)
    {
        Asn1Tag tag = reader.PeekTag();
        if (tag.TagClass != TagClass.ContextSpecific || !tag.IsConstructed)
        {
            throw new AsnContentException("PKIBody is not a constructed context-specific tag");
        }

        int number = tag.TagValue;
        if (!IsSupported(number))
        {
            return new UnsupportedBody((PkiBodyType)number, reader.ReadEncodedValue());
        }

        var type = (PkiBodyType)number;
        AsnReader inner = reader.ReadSequence(CmpDer.Ctx(number));
        PkiBody body = type switch
        {
            PkiBodyType.Ir or PkiBodyType.Cr or PkiBodyType.Kur => CertReqMessagesBody.ReadContent(type, inner),
            PkiBodyType.Ip or PkiBodyType.Cp or PkiBodyType.Kup => CertRepMessageBody.ReadContent(type, inner),
            PkiBodyType.Error => ErrorBody.ReadContent(inner),
            PkiBodyType.PkiConf => PkiConfBody.ReadContent(inner),
            PkiBodyType.CertConf => CertConfBody.ReadContent(inner),
            PkiBodyType.Genm or PkiBodyType.Genp => GenMsgBody.ReadContent(type, inner),
            PkiBodyType.PollReq => PollReqBody.ReadContent(inner),
            PkiBodyType.PollRep => PollRepBody.ReadContent(inner),
            PkiBodyType.Rr => RevReqBody.ReadContent(inner),
            PkiBodyType.Rp => RevRepBody.ReadContent(inner),
            PkiBodyType.Crlann => CrlAnnBody.ReadContent(inner),
            PkiBodyType.Ckuann => CkuAnnBody.ReadContent(inner),
            PkiBodyType.P10cr => new P10crBody { CertificationRequest = CmpDer.ReadRawSequence(inner, "p10cr") },
            _ => throw new InvalidOperationException("unreachable: every supported body is listed"),
        };
        inner.ThrowIfNotEmpty();
        return body;
    }

    internal static bool IsSupported(int number) => number is
        (int)PkiBodyType.Ir or (int)PkiBodyType.Ip or (int)PkiBodyType.Cr or (int)PkiBodyType.Cp or
        (int)PkiBodyType.P10cr or (int)PkiBodyType.Kur or (int)PkiBodyType.Kup or (int)PkiBodyType.Rr or
        (int)PkiBodyType.Rp or (int)PkiBodyType.PkiConf or (int)PkiBodyType.Genm or (int)PkiBodyType.Genp or
        (int)PkiBodyType.Error or (int)PkiBodyType.CertConf or (int)PkiBodyType.PollReq or (int)PkiBodyType.PollRep or
        (int)PkiBodyType.Crlann or (int)PkiBodyType.Ckuann;

    internal virtual void WriteTo(AsnWriter writer)
    {
        Asn1Tag tag = CmpDer.CtxC((int)BodyType);
        writer.PushSequence(tag);
        WriteContent(writer);
        writer.PopSequence(tag);
    }

    /// <summary>Writes the alternative's value (inside the explicit tag).</summary>
    private protected abstract void WriteContent(AsnWriter writer);
}
