using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>CertReqMsg (RFC 4211 §3): the request, its proof of possession and regInfo (kept as DER).</summary>
public sealed class CertReqMsg
{
    /// <summary>certReq.</summary>
    public required CertRequest CertReq { get; init; }

    /// <summary>popo, if present.</summary>
    public ProofOfPossession? Popo { get; init; }

    /// <summary>regInfo SEQUENCE SIZE (1..MAX) OF AttributeTypeAndValue, as DER.</summary>
    public ReadOnlyMemory<byte>? RegInfo { get; init; }

    internal static CertReqMsg Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        CertRequest request = CertRequest.Read(seq);
        ProofOfPossession? popo = null;
        if (seq.HasData && seq.PeekTag().TagClass == TagClass.ContextSpecific)
        {
            popo = ProofOfPossession.Read(seq);
        }

        ReadOnlyMemory<byte>? regInfo = null;
        if (seq.HasData)
        {
            regInfo = seq.PeekEncodedValue();
            CmpDer.ReadRawSequenceOf(seq, "regInfo", nonEmpty: true);
        }

        seq.ThrowIfNotEmpty();
        return new CertReqMsg { CertReq = request, Popo = popo, RegInfo = regInfo };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        CertReq.WriteTo(writer);
        Popo?.WriteTo(writer);
        if (RegInfo is { } r)
        {
            writer.WriteEncodedValue(r.Span);
        }

        writer.PopSequence();
    }
}
